import { DynamicModule, Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { createLogger } from '@app/logging';
import { SecretBox, StoredSecretRepository } from '@app/secrets';
import { DataSource } from 'typeorm';
import { KlearClient } from './klear-client';
import type { KlearCredentials, KlearCredentialsSource } from './klear-credentials';
import { KlearCredentialsRepository } from './klear-credentials.repository';
import type { KlearClientLogger, KlearClientOptions } from './klear-http-pipeline';

/** Credentials from configuration when complete there, else from the encrypted `stored_secret` row. */
export function klearCredentialsFromConfig(config: AppConfig, dataSource?: DataSource): KlearCredentialsSource {
  const k = config.klear;
  if (k.authMode === 'bearer' && k.adminUserId && k.accessToken) {
    return { mode: 'bearer', adminUserId: k.adminUserId, accessToken: k.accessToken };
  }
  if (k.authMode === 'session' && k.email && k.password) {
    return { mode: 'session', email: k.email, password: k.password, mfaCode: k.mfaCode };
  }
  return async (): Promise<KlearCredentials> => {
    if (!dataSource || !config.secretsKey) {
      throw new Error(
        'no Klear credentials: set KLEAR_ADMIN_USER_ID and KLEAR_ACCESS_TOKEN (or session credentials), or store them encrypted (needs SECRETS_KEY)',
      );
    }
    const repository = new KlearCredentialsRepository(
      dataSource,
      new StoredSecretRepository(dataSource, SecretBox.fromKeys(config.secretsKey, config.secretsKeysPrevious)),
    );
    const stored = await repository.load();
    if (!stored) throw new Error('no Klear credentials in configuration or in the database');
    if (stored.mode !== k.authMode)
      throw new Error(`stored Klear credentials are for ${stored.mode} mode, KLEAR_AUTH_MODE is ${k.authMode}`);
    return stored;
  };
}

/** Builds the client from the application configuration. */
export function createKlearClient(
  config: AppConfig,
  extra: { dataSource?: DataSource; logger?: KlearClientLogger } & Partial<KlearClientOptions> = {},
): KlearClient {
  const { dataSource, ...overrides } = extra;
  return new KlearClient({
    baseUrl: config.klear.baseUrl,
    credentials: klearCredentialsFromConfig(config, dataSource),
    tier: config.klear.tier,
    rateShare: config.klear.rateShare,
    timeoutMs: config.klear.timeoutMs,
    reportHosts: config.klear.reportHosts,
    reportMaxBytes: config.klear.reportMaxBytes,
    maxBufferBytes: config.klear.maxBufferBytes,
    spoolDir: config.klear.spoolDir,
    maxRetries: config.klear.maxRetries,
    logger: createLogger('klear-client', config.log.level),
    ...overrides,
  });
}

/**
 * Provides one KlearClient per process (the rate limiter lives in it), built from APP_CONFIG;
 * `overrides`: client settings beyond configuration (tests: shorter backoff, a limiter clock).
 */
@Module({})
export class KlearClientModule {
  static forRoot(overrides: Partial<KlearClientOptions> = {}): DynamicModule {
    return {
      module: KlearClientModule,
      global: true,
      providers: [
        {
          provide: KlearClient,
          inject: [APP_CONFIG, { token: DataSource, optional: true }],
          useFactory: (config: AppConfig, dataSource?: DataSource) => createKlearClient(config, { dataSource, ...overrides }),
        },
      ],
      exports: [KlearClient],
    };
  }
}
