import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { AdvisoryLocks, ExportFile, lockForTransaction } from '@app/db';

/** The export_file rows (one per built workbook version) and the scheduled job's work list. */
@Injectable()
export class ExportFileRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Runs `work` with the day's export lock held and the next version number: concurrent builds of one
   * day get distinct versions, and the row commits only if `work` (moving the file into place) succeeds.
   */
  async withNextVersion<T>(date: string, work: (version: number, manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (manager) => {
      await lockForTransaction(manager, AdvisoryLocks.exportFile(date));
      const rows = (await manager.query(`SELECT coalesce(max(version), 0)::int AS v FROM export_file WHERE settlement_date = $1`, [
        date,
      ])) as Array<{ v: number }>;
      return work(rows[0].v + 1, manager);
    });
  }

  /** `createdAt` is the build's instant from the Clock (the workbook's "made at"), not the database's. */
  async insert(manager: EntityManager, file: Omit<ExportFile, 'id'>): Promise<ExportFile> {
    return manager.getRepository(ExportFile).save(manager.getRepository(ExportFile).create(file));
  }

  /** Newest first: by day, then version. */
  async list(limit: number, after?: { date: string; version: number }): Promise<ExportFile[]> {
    const qb = this.dataSource
      .getRepository(ExportFile)
      .createQueryBuilder('f')
      .orderBy('f.settlementDate', 'DESC')
      .addOrderBy('f.version', 'DESC')
      .limit(limit);
    if (after) qb.where('(f.settlement_date, f.version) < (CAST(:date AS date), CAST(:version AS integer))', after);
    return qb.getMany();
  }

  async find(id: string): Promise<ExportFile | null> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
    return this.dataSource.getRepository(ExportFile).findOneBy({ id });
  }

  /**
   * ET days (oldest first) with cycles executed in [from, until), every one of them with a
   * successful run, whose latest workbook is missing or does not cover one of those cycles (it was
   * built before that cycle was reconciled, or before it existed).
   */
  async daysToBuild(from: Date, until: Date): Promise<string[]> {
    const rows = (await this.dataSource.query(
      `WITH cycles AS (
         SELECT DISTINCT o.execution_time AS cycle, (o.execution_time AT TIME ZONE 'America/New_York')::date AS day
           FROM klear_obligation o WHERE o.execution_time >= $1 AND o.execution_time < $2),
       latest AS (
         SELECT DISTINCT ON (f.settlement_date) f.settlement_date AS day, f.reconciliation_run_ids AS run_ids
           FROM export_file f WHERE f.settlement_date IN (SELECT day FROM cycles)
          ORDER BY f.settlement_date, f.version DESC),
       days AS (
         SELECT c.day,
                bool_and(EXISTS (SELECT 1 FROM recon_run r WHERE r.scope = 'cycle' AND r.cycle = c.cycle AND r.status = 'succeeded')) AS reconciled,
                bool_and(EXISTS (SELECT 1 FROM recon_run r WHERE r.cycle = c.cycle AND r.id::text = ANY(l.run_ids))) AS covered
           FROM cycles c LEFT JOIN latest l ON l.day = c.day GROUP BY c.day)
       SELECT to_char(d.day, 'YYYY-MM-DD') AS day FROM days d WHERE d.reconciled AND NOT d.covered ORDER BY d.day`,
      [from, until],
    )) as Array<{ day: string }>;
    return rows.map((r) => r.day);
  }
}
