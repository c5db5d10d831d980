import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { pendingMigrations } from '@app/db';
import { DataSource } from 'typeorm';

interface Check {
  status: 'up' | 'down';
  detail?: string;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms).unref())]);
}

@Injectable()
export class HealthService {
  private klearCache: { at: number; check: Check } | null = null;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /** Public readiness: database up and migrations applied; never calls Klear, never says why. */
  async ready(): Promise<boolean> {
    const database = await this.database();
    return database.status === 'up' && (await this.migrations()).status === 'up';
  }

  async readiness(): Promise<{ status: 'ok' | 'unavailable'; checks: Record<string, Check> }> {
    const database = await this.database();
    const migrations: Check =
      database.status === 'up' ? await this.migrations() : { status: 'down', detail: 'database unavailable' };
    const klear = await this.klear();
    const ready = database.status === 'up' && migrations.status === 'up';
    return { status: ready ? 'ok' : 'unavailable', checks: { database, migrations, klear } };
  }

  private async database(): Promise<Check> {
    try {
      await withTimeout(this.dataSource.query('SELECT 1'), 2000);
      return { status: 'up' };
    } catch (e) {
      return { status: 'down', detail: (e as Error).message.slice(0, 200).replace(/postgres(ql)?:\/\/\S+/g, '[url]') };
    }
  }

  private async migrations(): Promise<Check> {
    try {
      const pending = await withTimeout(pendingMigrations(this.dataSource), 2000);
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
