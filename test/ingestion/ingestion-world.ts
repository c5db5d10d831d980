import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { type AppConfig, loadConfig } from '@app/config';
import { INGESTION_JOBS } from '@app/ingestion';
import { JobRunner, SCHEDULED_JOB, type JobDefinition } from '@app/jobs';
import { parseKlearJson } from '@app/klear-contract';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { ADMIN_TOKEN_HEADER, type RunningKlearSimulator, type SimulatorOptions, startKlearSimulator } from '@apps/klear-sim';
import { createWorkerApplication } from '@apps/worker';
import { startApiWorld, type ApiWorld } from '../support/api-world';

export const INGESTION_JOB_NAMES = INGESTION_JOBS.map((job) => (Reflect.getMetadata(SCHEDULED_JOB, job) as JobDefinition).name);

/** A small simulated world starting now (so report dates fall in the listing window). */
export function smallWorld(overrides: Partial<SimulatorOptions> = {}): Partial<SimulatorOptions> {
  return {
    port: 0,
    seed: 7,
    subtraders: 5,
    markets: 4,
    days: 5,
    tier: 'prime',
    startAt: new Date().toISOString(),
    withdrawalFailureRate: 0,
    accessToken: 'sim-secret-access-token-7f3a',
    adminUserId: 'member-admin-1',
    ...overrides,
  };
}

/** A real API whose Klear client points at the simulator (tier Prime), its reports stored in `reportsDir`. */
export function apiOverSimulator(sim: RunningKlearSimulator, reportsDir: string, env: Record<string, string> = {}): Promise<ApiWorld> {
  return startApiWorld({
    KLEAR_BASE_URL: sim.url,
    KLEAR_ADMIN_USER_ID: sim.options.adminUserId,
    KLEAR_ACCESS_TOKEN: sim.options.accessToken,
    KLEAR_TIER: 'prime',
    REPORTS_DIR: reportsDir,
    ...env,
  });
}

export function workerConfig(
  sim: RunningKlearSimulator,
  databaseUrl: string,
  reportsDir: string,
  env: Record<string, string> = {},
): AppConfig {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: databaseUrl,
    KLEAR_BASE_URL: sim.url,
    KLEAR_ADMIN_USER_ID: sim.options.adminUserId,
    KLEAR_ACCESS_TOKEN: sim.options.accessToken,
    KLEAR_TIER: 'prime',
    KLEAR_TIMEOUT_MS: '1500',
    KLEAR_MAX_RETRIES: '8',
    REPORTS_DIR: reportsDir,
    WORKER_JOBS_ENABLED: 'false',
    INGEST_OBLIGATION_FULL_REWALK_HOURS: '0',
    ...env,
  });
}

/** Client settings for tests: short backoff and breaker pauses (the defaults wait up to 30 s). */
export const FAST_CLIENT = { retryInitialDelayMs: 20, retryMaxDelayMs: 300, breakerHalfOpenAfterMs: 300 };

export class IngestionWorld {
  private constructor(
    readonly sim: RunningKlearSimulator,
    readonly db: TestDatabase,
    readonly reportsDir: string,
    readonly config: AppConfig,
    readonly worker: INestApplicationContext,
  ) {}

  static async start(world: Partial<SimulatorOptions> = {}, env: Record<string, string> = {}): Promise<IngestionWorld> {
    const sim = await startKlearSimulator(smallWorld(world));
    const db = await createTestDatabase();
    const reportsDir = mkdtempSync(join(tmpdir(), 'klear-reports-'));
    const config = workerConfig(sim, db.url, reportsDir, env);
    const worker = await createWorkerApplication(config, { silent: true, klearClient: FAST_CLIENT });
    return new IngestionWorld(sim, db, reportsDir, config, worker);
  }

  get runner(): JobRunner {
    return this.worker.get(JobRunner);
  }

  /** Runs every ingestion job once (as the start-up catch-up does); answers the run statuses. */
  async runAll(trigger: 'startup' | 'manual' = 'startup'): Promise<Record<string, string>> {
    const statuses: Record<string, string> = {};
    for (const name of INGESTION_JOB_NAMES) statuses[name] = (await this.runner.runToEnd(name, { trigger }))?.status ?? 'not recorded';
    return statuses;
  }

  async admin(method: string, path: string, body?: unknown): Promise<unknown> {
    const answer = await fetch(`${this.sim.adminUrl}${path}`, {
      method,
      headers: { [ADMIN_TOKEN_HEADER]: this.sim.options.adminToken, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await answer.text();
    if (!answer.ok) throw new Error(`sim admin ${method} ${path}: ${answer.status} ${text}`);
    return parseKlearJson(text);
  }

  truth(): Promise<Truth> {
    return this.admin('GET', '/truth') as Promise<Truth>;
  }

  async close(): Promise<void> {
    await this.worker.close();
    await this.sim.close();
    await this.db.drop();
    rmSync(this.reportsDir, { recursive: true, force: true });
  }
}

type Json = Record<string, unknown>;
export interface Truth {
  world: { active_obligation_id: string | null };
  obligations: Array<Json & { settlement_details: Json[]; maintenance_margin_details: Json[]; receives: Json[] }>;
  settlement_balance: { balance_available_centicents: bigint; locked_balance_centicents: bigint };
  settlement_balance_history: Json[];
  guaranty_fund: { amount_centicents: bigint };
  large_trader_positions: Array<{ report_date: string; positions: Array<{ market_ticker: string; position: bigint }> }>;
  reports: Array<{ date: string; report_type: string; sha256: string; bytes: bigint }>;
  injected_obligation_changes: Array<{ execution_time: string }>;
}
