import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { KlearAnswerData } from '@app/klear-client';
import { usdAmountToCenticents } from '@app/klear-contract';
import { DataSource, type EntityManager } from 'typeorm';
import type { SqlTransaction } from './ingestion-transaction.repository';

/** Withdrawals this product submitted to Klear (klear_withdrawal), as the workflow registers them and the status poll reads them. */
@Injectable()
export class KlearWithdrawalRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * For the withdrawal workflow: record a withdrawal Klear accepted (its id), in the workflow's own
   * transaction; the withdrawal_status job then polls it until it is processed or failed.
   */
  async register(manager: EntityManager, withdrawal: { id: string; amountCenticents: bigint }): Promise<void> {
    await manager.query(
      `INSERT INTO klear_withdrawal (id, amount_centicents, registered_at) VALUES ($1, $2, now()) ON CONFLICT (id) DO NOTHING`,
      [withdrawal.id, withdrawal.amountCenticents.toString()],
    );
  }

  /**
   * A polled withdrawal: its current status, and the status history (one row per status seen), in
   * the interpretation's transaction. Static: the answer interpreter writes through `tx` alone.
   */
  static async recordStatus(
    tx: SqlTransaction,
    w: KlearAnswerData<'settlementBalanceWithdrawal'>,
    archiveId: string,
    pulledAt: Date,
  ): Promise<number> {
    await tx.query(
      `INSERT INTO klear_withdrawal (id, amount_centicents, status, klear_created_ts, registered_at, last_polled_at)
       VALUES ($1, $2, $3, $4, $5, $5)
       ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, klear_created_ts = EXCLUDED.klear_created_ts, last_polled_at = EXCLUDED.last_polled_at`,
      [w.id, usdAmountToCenticents(w.amount).toString(), w.status, new Date(w.created_ts), pulledAt],
    );
    const rows = await tx.query(
      `INSERT INTO klear_withdrawal_status (withdrawal_id, status, observed_at, archive_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1`,
      [w.id, w.status, pulledAt, archiveId],
    );
    return 1 + rows.length;
  }

  /** For the archive rebuild: withdrawals the workflow registered stay, their polled status is cleared (the archive fills it again). */
  async clearPolledStatus(): Promise<void> {
    await this.dataSource.query(`UPDATE klear_withdrawal SET status = NULL, klear_created_ts = NULL, last_polled_at = NULL`);
  }

  /** Ids of the withdrawals not final yet (neither processed nor failed), oldest registration first. */
  async awaitingFinalStatus(): Promise<string[]> {
    const rows = (await this.dataSource.query(
      `SELECT id FROM klear_withdrawal WHERE status IS NULL OR status NOT IN ('processed', 'failed') ORDER BY registered_at`,
    )) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }
}
