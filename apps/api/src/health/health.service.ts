import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { KEY_PULLS, type KeyPull } from '@app/metrics';
import { HealthRepository } from './health.repository';

interface Check {
  status: 'up' | 'down';
  detail?: string;
}

/** A key Klear pull and how old it is: stale when older than HEALTH_STALE_<PULL>_SECONDS or never made. */
export interface PullCheck {
  status: 'fresh' | 'stale';
  pulled_at: string | null;
  age_seconds: number | null;
  max_age_seconds: number;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms).unref())]);
}

@Injectable()
export class HealthService {
  private klearCache: { at: number; check: Check } | null = null;

  constructor(
    private readonly repository: HealthRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /**
   * Public readiness: `not_ready` unless the database answers and migrations are applied; `degraded`
   * (still serving) when a key pull is stale; never calls Klear, never says which.
   */
  async ready(): Promise<'ready' | 'degraded' | 'not_ready'> {
    const database = await this.database();
    if (database.status !== 'up' || (await this.migrations()).status !== 'up') return 'not_ready';
    const pulls = await this.pulls().catch(() => null);
    return pulls && Object.values(pulls).some((p) => p.status === 'stale') ? 'degraded' : 'ready';
  }

  async readiness(): Promise<{
    status: 'ok' | 'degraded' | 'unavailable';
    stale: string[];
    checks: Record<string, Check>;
    pulls: Record<string, PullCheck> | null;
  }> {
    const database = await this.database();
    const migrations: Check = database.status === 'up' ? await this.migrations() : { status: 'down', detail: 'database unavailable' };
    const klear = await this.klear();
    const ready = database.status === 'up' && migrations.status === 'up';
    const partitions: Check = ready ? await this.partitions() : { status: 'down', detail: 'database unavailable' };
    const pulls = ready ? await this.pulls().catch(() => null) : null;
    const stale = Object.entries(pulls ?? {})
      .filter(([, p]) => p.status === 'stale')
      .map(([name]) => name);
    return {
      status: !ready ? 'unavailable' : stale.length ? 'degraded' : 'ok',
      stale,
      checks: { database, migrations, klear, partitions },
      pulls,
    };
  }

  /** The key pulls (balance, active obligations, estimate) against their configured maximum age. */
  private async pulls(): Promise<Record<KeyPull, PullCheck>> {
    const now = this.clock.nowMs();
    const limits: Record<KeyPull, number> = {
      balance: this.config.health.staleSeconds.balance,
      active_obligations: this.config.health.staleSeconds.obligations,
      estimate: this.config.health.staleSeconds.estimate,
    };
    const out = {} as Record<KeyPull, PullCheck>;
    for (const pull of Object.keys(KEY_PULLS) as KeyPull[]) {
      const at = await withTimeout(this.repository.lastPulledAt(pull), 2000);
      const age = at ? Math.max(0, Math.round((now - at.getTime()) / 1000)) : null;
      out[pull] = {
        status: age !== null && age <= limits[pull] ? 'fresh' : 'stale',
        pulled_at: at?.toISOString() ?? null,
        age_seconds: age,
        max_age_seconds: limits[pull],
      };
    }
    return out;
  }

  /**
   * Reported, not required: rows that fell into a default (safety-net) partition because their month had
   * none. They are served as any other; `partitions:ensure --month` files them (docs/partitioning-and-retention.md).
   */
  private async partitions(): Promise<Check> {
    try {
      const strays = (await withTimeout(this.repository.defaultPartitionRows(), 2000)).filter((r) => r.rows > 0);
      if (strays.length === 0) return { status: 'up' };
      const named = strays.map(
        (r) => `${r.table}: ${r.rows} row(s), ${r.firstKey?.toISOString() ?? '?'} to ${r.lastKey?.toISOString() ?? '?'}`,
      );
      return {
        status: 'down',
        detail: `rows in default partitions (npm run cli -- partitions:ensure --month YYYY-MM files them): ${named.join('; ')}`,
      };
    } catch (e) {
      return { status: 'down', detail: (e as Error).message.slice(0, 200) };
    }
  }

  private async database(): Promise<Check> {
    try {
      await withTimeout(this.repository.ping(), 2000);
      return { status: 'up' };
    } catch (e) {
      return { status: 'down', detail: (e as Error).message.slice(0, 200).replace(/postgres(ql)?:\/\/\S+/g, '[url]') };
    }
  }

  private async migrations(): Promise<Check> {
    try {
      const pending = await withTimeout(this.repository.pendingMigrations(), 2000);
      return pending.length ? { status: 'down', detail: `pending: ${pending.join(', ')}` } : { status: 'up' };
    } catch (e) {
      return { status: 'down', detail: (e as Error).message.slice(0, 200) };
    }
  }

  /** Reported, not required: the API serves what was ingested even while Klear is away. */
  private async klear(): Promise<Check> {
    const now = this.clock.nowMs();
    if (this.klearCache && now - this.klearCache.at < 10_000) return this.klearCache.check;
    let check: Check;
    try {
      const res = await fetch(`${this.config.klear.baseUrl}/margin/settlement_balance`, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      check = res.status >= 500 ? { status: 'down', detail: `HTTP ${res.status}` } : { status: 'up' };
    } catch (e) {
      check = { status: 'down', detail: (e as Error).name === 'TimeoutError' ? 'timed out' : 'unreachable' };
    }
    this.klearCache = { at: now, check };
    return check;
  }
}
