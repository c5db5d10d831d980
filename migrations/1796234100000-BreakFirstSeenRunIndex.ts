import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 18: every reconciliation run queues a notification for each break it opened
 * (BREAKS_OPENED_OUTBOX_SQL: `first_seen_run = <this run> OR id = ANY(<reopened>)`, open only).
 * Without an index on recon_break.first_seen_run that lookup read every open break of every cycle,
 * a cost of the run growing with history; with it, a bitmap OR of two index probes.
 */
export class BreakFirstSeenRunIndex1796234100000 implements MigrationInterface {
  name = 'BreakFirstSeenRunIndex1796234100000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "IDX_recon_break_first_seen_run" ON "recon_break" ("first_seen_run")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."IDX_recon_break_first_seen_run"`);
  }
}
