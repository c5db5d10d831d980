import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type pg from 'pg';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { CONNECT_TIMEOUT_MS, dedicatedPgClient } from '@app/db';
import { VerifiedTokenCache } from './verified-token-cache';

/** The channel the triggers on `api_token` and `app_user` notify (migration AuthChangeNotify1796234000000). */
export const AUTH_CHANGED_CHANNEL = 'klear_auth_changed';
export const AUTH_CHANGES_APPLICATION_NAME = 'klear-auth-changes';

const FIRST_RETRY_MS = 250;
const LAST_RETRY_MS = 30_000;
/** How long the probe notification may take to come back before the channel counts as not working. */
const PROBE_TIMEOUT_MS = 5_000;
const PROBE_PREFIX = 'probe ';

/**
 * One dedicated connection that LISTENs for changes of tokens and users and empties the verified-token
 * cache on each. The cache is used only while this connection is live: when it errors or ends, the
 * cache is emptied and switched off (every request asks the database again) and the connection is
 * reopened with a growing delay. A lost connection never stops the process (every 'error' is handled).
 *
 * The channel goes live only once a probe notification sent from another connection (the pool) came
 * back to it: behind a transaction-mode pooler the LISTEN stays on a server session nobody reads, no
 * change would ever arrive, and the cache must stay off.
 */
@Injectable()
export class AuthChangesRepository implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('AuthChanges');
  private client: pg.Client | undefined;
  private retry: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;
  private readonly listening: Array<() => void> = [];

  constructor(
    private readonly cache: VerifiedTokenCache,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.cache.configured && this.config.database.url) await this.connect();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    this.cache.setLive(false, 'shutting down');
    await client?.end().catch(() => undefined);
  }

  /** The backend pid of the listening connection, or null while there is none (tests terminate it). */
  get pid(): number | null {
    return (this.client as unknown as { processID?: number } | undefined)?.processID ?? null;
  }

  /** Resolves when the channel is (next) live: at once when it is live now. */
  whenListening(): Promise<void> {
    if (this.client) return Promise.resolve();
    return new Promise((resolve) => this.listening.push(resolve));
  }

  private async connect(): Promise<void> {
    let done = false;
    const lost = (why: string) => {
      if (done) return;
      done = true;
      if (this.client === client) {
        this.client = undefined;
        this.cache.setLive(false, `listener lost: ${why}`);
      }
      void client.end().catch(() => undefined);
      this.scheduleReconnect(why);
    };
    const client = dedicatedPgClient(
      {
        connectionString: this.config.database.url,
        application_name: AUTH_CHANGES_APPLICATION_NAME,
        keepAlive: true,
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      },
      'auth changes listener',
      (error) => lost(error.message),
    );
    client.on('end', () => lost('connection ended'));
    const probe = `${PROBE_PREFIX}${randomUUID()}`;
    let probeCameBack: (came: boolean) => void = () => undefined;
    const cameBack = new Promise<boolean>((resolve) => (probeCameBack = resolve));
    client.on('notification', (message) => {
      const payload = message.payload ?? '';
      if (payload === probe) probeCameBack(true);
      else if (this.client === client && !payload.startsWith(PROBE_PREFIX)) this.cache.invalidate(`notified: ${payload}`);
    });
    const timeout = setTimeout(() => probeCameBack(false), PROBE_TIMEOUT_MS);
    timeout.unref();
    try {
      await client.connect();
      await client.query(`LISTEN ${AUTH_CHANGED_CHANNEL}`);
      await this.dataSource.query(`SELECT pg_notify($1, $2)`, [AUTH_CHANGED_CHANNEL, probe]);
      if (!(await cameBack)) throw new Error('the probe notification never came back (a transaction-mode pooler?)');
    } catch (error) {
      lost(error instanceof Error ? error.message : String(error));
      return;
    } finally {
      clearTimeout(timeout);
    }
    if (done) return;
    if (this.stopped) {
      done = true;
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.failures = 0;
    // Whatever changed while nobody listened is unknown: start empty.
    this.cache.setLive(true, 'listening');
    for (const resolve of this.listening.splice(0)) resolve();
  }

  private scheduleReconnect(why: string): void {
    if (this.stopped) return;
    const delay = Math.min(LAST_RETRY_MS, FIRST_RETRY_MS * 2 ** this.failures);
    this.failures++;
    this.logger.warn(`token cache off (${why}); listening again in ${delay} ms`);
    clearTimeout(this.retry);
    this.retry = setTimeout(() => void this.connect(), delay);
    this.retry.unref();
  }
}
