import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { defaultPartitionRows, pendingMigrations } from '@app/db';
import { KEY_PULLS, type KeyPull } from '@app/metrics';
import { DataSource } from 'typeorm';

/** What readiness asks of the database; HealthService bounds each question in time. */
@Injectable()
export class HealthRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Resolves when the database answers a query. */
  async ping(): Promise<void> {
    await this.dataSource.query('SELECT 1');
  }

  /** The migrations not applied yet (none on a ready database). */
  pendingMigrations(): Promise<string[]> {
    return pendingMigrations(this.dataSource);
  }

  /** Rows that fell into a default (safety-net) partition, per table. */
  defaultPartitionRows(): ReturnType<typeof defaultPartitionRows> {
    return defaultPartitionRows(this.dataSource);
  }

  /** When a key Klear pull last succeeded (null when never). */
  async lastPulledAt(pull: KeyPull): Promise<Date | null> {
    const [row] = (await this.dataSource.query(KEY_PULLS[pull])) as Array<{ at: Date | null }>;
    return row?.at ? new Date(row.at) : null;
  }
}
