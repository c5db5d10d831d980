import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from './config';

describe('loadConfig', () => {
  it('builds defaults from an empty environment', () => {
    const c = loadConfig({});
    expect(c.api.port).toBe(3000);
    expect(c.klear.tier).toBe('basic');
    expect(c.database.url).toBeUndefined();
    expect(c.withdrawals.defaultCapCenticents).toBe(10_000_000_000_000n);
  });

  it('names every invalid variable and what it expects, without echoing values', () => {
    let error: unknown;
    try {
      loadConfig({ API_PORT: 'eighty', KLEAR_TIER: 'gold', SECRETS_KEY: 'hunter2', DATABASE_URL: 'mysql://x' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('API_PORT: expected a whole number');
    expect(message).toContain('KLEAR_TIER: expected basic, advanced, premier or prime');
    expect(message).toContain('SECRETS_KEY: expected 64 hex characters');
    expect(message).toContain('DATABASE_URL: expected a postgres or postgresql URL');
    expect(message).not.toContain('hunter2');
  });

  it('requires session credentials in session mode and a secrets key in production', () => {
    expect(() => loadConfig({ KLEAR_AUTH_MODE: 'session' })).toThrow(/KLEAR_EMAIL, KLEAR_PASSWORD: required/);
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/SECRETS_KEY: required in production/);
  });

  it('parses money limits as bigint centicents', () => {
    const c = loadConfig({ WITHDRAWAL_DEFAULT_CAP_CENTICENTS: '900719925474099312' });
    expect(c.withdrawals.defaultCapCenticents).toBe(900719925474099312n);
  });

  it('serves the API docs by default except in production, and builds the keyring and the upload limits', () => {
    expect(loadConfig({}).api.docsEnabled).toBe(true);
    const production = loadConfig({
      NODE_ENV: 'production',
      SECRETS_KEY: 'a'.repeat(64),
      KLEAR_BASE_URL: 'https://k.example/v1',
      SECRETS_KEY_PREVIOUS: `${'b'.repeat(64)}, ${'c'.repeat(64)}`,
    });
    expect(production.api.docsEnabled).toBe(false);
    expect(production.secretsKeysPrevious.map((k) => k.toString('hex'))).toEqual(['b'.repeat(64), 'c'.repeat(64)]);
    expect(
      loadConfig({ NODE_ENV: 'production', SECRETS_KEY: 'a'.repeat(64), KLEAR_BASE_URL: 'https://k.example/v1', API_DOCS_ENABLED: 'true' })
        .api.docsEnabled,
    ).toBe(true);
    expect(loadConfig({}).ledger).toMatchObject({ importMaxRows: 200_000, importMaxUncompressedBytes: 256 * 1024 * 1024 });
    expect(() => loadConfig({ SECRETS_KEY_PREVIOUS: 'b'.repeat(64) })).toThrow(/SECRETS_KEY_PREVIOUS: needs SECRETS_KEY/);
  });

  it('caches verified tokens 10 s by default, 0 to 60 s when set, and refuses anything else at start-up', () => {
    expect(loadConfig({}).auth.tokenCacheSeconds).toBe(10);
    expect(loadConfig({ API_TOKEN_CACHE_SECONDS: '0' }).auth.tokenCacheSeconds).toBe(0);
    expect(loadConfig({ API_TOKEN_CACHE_SECONDS: '60' }).auth.tokenCacheSeconds).toBe(60);
    expect(() => loadConfig({ API_TOKEN_CACHE_SECONDS: '61' })).toThrow(/API_TOKEN_CACHE_SECONDS: expected at most 60/);
    expect(() => loadConfig({ API_TOKEN_CACHE_SECONDS: '-1' })).toThrow(/API_TOKEN_CACHE_SECONDS: expected a whole number/);
    expect(() => loadConfig({ API_TOKEN_CACHE_SECONDS: '2.5' })).toThrow(/API_TOKEN_CACHE_SECONDS: expected a whole number/);
  });
});
