import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KlearClient } from '@app/klear-client';
import type { RunningKlearSimulator } from '@apps/klear-sim';
import { CapturedLogs, injectFaults, rejectionOf, sessionClient, simAdmin, startSmallSimulator } from './klear-client-world';

describe('KlearClient keeps secrets out of errors and logs', () => {
  let sim: RunningKlearSimulator;
  const logs = new CapturedLogs();
  const cookies: string[] = [];
  let client: KlearClient;

  beforeAll(async () => {
    sim = await startSmallSimulator({
      mfaCode: '864209',
      email: 'treasury@member.test',
      password: 'correct horse battery',
      accessToken: 'tok-unused-secret',
      legacySessionLogin: true,
    });
    client = sessionClient(sim, {
      logger: logs.logger,
      // Generous: only the injected timeout may hit it, never a slow answer on a busy machine.
      timeoutMs: 5_000,
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        cookies.push(...response.headers.getSetCookie().map((line) => line.split(';')[0].split('=')[1]));
        return response;
      },
    });
  });
  afterAll(() => sim.close());

  it('names no credential, cookie or signature in any error or log line through logins, retries and failures', async () => {
    const errors: Error[] = [];
    await client.getSettlementBalance();
    await injectFaults(sim, [
      { kind: 'status', endpoint: '/margin/settlement_balance', status: 503, times: 1 },
      { kind: 'connection_reset', endpoint: '/margin/guaranty_fund_balance', times: 1 },
      { kind: 'timeout', endpoint: '/margin/withdraw_settlement_balance', phase: 'after', times: 1 },
    ]);
    await client.getSettlementBalance();
    await client.getGuarantyFundBalance();
    errors.push(await rejectionOf(client.withdrawSettlementBalance(10_000n)));
    await simAdmin(sim, 'POST', '/sessions/expire');
    await client.getActiveObligations();

    const { data } = await client.getMarginReports('2026-11-10', '2026-11-19');
    const signed = new URL(data.reports[0].url);
    const signatures = [...signed.searchParams.values()].filter((value) => value.length >= 8);
    expect(signatures.length).toBeGreaterThan(0);
    const forged = new URL(signed);
    for (const key of [...forged.searchParams.keys()]) forged.searchParams.set(key, `${forged.searchParams.get(key)}0`);
    errors.push(await rejectionOf(client.downloadReport(forged.toString())));
    errors.push(await rejectionOf(client.downloadReport(`${signed.toString()}%%bad url`.replace('http:', 'bogus:'))));

    const wrongPassword = sessionClient(sim, {
      logger: logs.logger,
      credentials: { mode: 'session', email: 'treasury@member.test', password: 'wrong horse battery', mfaCode: '864209' },
    });
    errors.push(await rejectionOf(wrongPassword.getSettlementBalance()));

    expect(cookies.length).toBe(2);
    expect(errors.map((e) => e.name)).toEqual(['KlearOutcomeUnknownError', 'KlearAuthError', 'RangeError', 'KlearAuthError']);
    expect(errors[1].message).toBe(`Klear GET ${signed.pathname} answered 403 forbidden: signature invalid or expired`);
    expect(logs.lines.length).toBeGreaterThanOrEqual(5);
    expect(logs.text).toContain('klear session expired, logging in again');
    expect(logs.text).toContain('klear call failed, retrying');

    const secrets = [
      'treasury@member.test',
      'correct horse battery',
      'wrong horse battery',
      '864209',
      'tok-unused-secret',
      ...cookies,
      ...signatures,
    ];
    const surfaces = [logs.text, ...errors.flatMap((e) => [e.message, String(e.stack), inspect(e, { depth: 5 }), JSON.stringify(e)])];
    for (const secret of secrets) {
      for (const surface of surfaces)
        expect(surface.includes(secret) ? `${secret} leaked in: ${surface.slice(0, 200)}` : 'clean').toBe('clean');
    }
  });
});
