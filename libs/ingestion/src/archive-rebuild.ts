import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { parseKlearAnswer } from '@app/klear-client';
import { ENDPOINTS, type ObligationEntry } from '@app/klear-contract';
import { endpointNameOf, interpretArchivedBody } from './klear-answer-interpreter';
import { type DetailListName, type ObligationCompletion, completeObligations, pageByPage } from './obligation-completion';
import { heldComplete } from './obligation-store';
import { type ArchivedAnswer, ResponseArchiveRepository } from './response-archive.repository';
import { inTransaction } from './sql-transaction';

const PAGED_ENDPOINT: Record<DetailListName, 'obligationSettlementDetails' | 'obligationMaintenanceMarginDetails' | 'obligationFundingPayments'> = {
  settlement_details: 'obligationSettlementDetails',
  maintenance_margin_details: 'obligationMaintenanceMarginDetails',
  funding_payments: 'obligationFundingPayments',
};

/** Derived tables rebuilt from the archive. Report files and withdrawals registered by the workflow stay. */
const DERIVED_TABLES = [
  'klear_obligation',
  'klear_obligation_version',
  'klear_active_obligation_pull',
  'klear_settlement_detail',
  'klear_margin_detail',
  'klear_receive',
  'klear_estimate_snapshot',
  'klear_estimate_line',
  'klear_balance_snapshot',
  'klear_balance_history',
  'klear_guaranty_fund_snapshot',
  'klear_large_trader_snapshot',
  'klear_large_trader_position',
  'klear_withdrawal_status',
  'klear_funding_payment',
  'klear_settlement_price',
  'klear_member_funding_payment',
  'klear_subtrader_group_membership',
];

export interface RebuildResult {
  answers: number;
  skipped: number;
  written: number;
}

/**
 * Re-parses every archived Klear answer, oldest first, through the same interpretation as live
 * ingestion, after emptying the derived tables. Report rows keep their stored file columns (the
 * listing re-creates the rows; the file fields are restored by identity).
 */
@Injectable()
export class ArchiveRebuild {
  private readonly logger = new Logger('ArchiveRebuild');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly archive: ResponseArchiveRepository,
  ) {}

  async rebuildFromArchive(): Promise<RebuildResult> {
    const files = (await this.dataSource.query(
      `SELECT report_type, report_date::text AS report_date, created_ts, file_path, file_size, file_sha256, downloaded_at FROM klear_margin_report WHERE file_sha256 IS NOT NULL`,
    )) as Array<Record<string, unknown>>;
    await this.dataSource.query(`TRUNCATE ${[...DERIVED_TABLES, 'klear_margin_report'].join(', ')}`);
    await this.dataSource.query(`UPDATE klear_withdrawal SET status = NULL, klear_created_ts = NULL, last_polled_at = NULL`);
    const result: RebuildResult = { answers: 0, skipped: 0, written: 0 };
    for await (const answer of this.archive.inOrder()) {
      const name = endpointNameOf(answer.endpoint);
      if (!name) {
        result.skipped++;
        continue;
      }
      try {
        const completion = name === 'obligationHistory' || name === 'activeObligations' ? await this.completeFromArchive(name, answer) : undefined;
        const done = await inTransaction(this.dataSource, (tx) => interpretArchivedBody(tx, name, answer.body, answer.id, answer.receivedAt, completion, answer.params));
        result.answers++;
        result.written += done.written;
      } catch (error) {
        // An answer that never matched the contract was archived for diagnosis: it stays skipped.
        result.skipped++;
        this.logger.warn(`archive #${answer.id} (${answer.endpoint}) not interpretable: ${(error as Error).message.slice(0, 200)}`);
      }
    }
    for (const f of files) {
      await this.dataSource.query(
        `UPDATE klear_margin_report SET file_path = $4, file_size = $5, file_sha256 = $6, downloaded_at = $7
          WHERE report_type = $1 AND report_date = $2::date AND created_ts = $3`,
        [f.report_type, f.report_date, f.created_ts, f.file_path, f.file_size, f.file_sha256, f.downloaded_at],
      );
    }
    this.logger.log(`rebuilt from ${result.answers} archived answers (${result.skipped} skipped)`);
    return result;
  }

  /**
   * Completes an archived answer's truncated obligations from the detail pages the same job run
   * archived after it (the cursor chain from the first page to the last), as live ingestion did.
   */
  private async completeFromArchive(name: 'obligationHistory' | 'activeObligations', answer: ArchivedAnswer): Promise<ObligationCompletion> {
    const entries = (parseKlearAnswer(name, answer.body) as { obligations: ObligationEntry[] }).obligations;
    return completeObligations(
      entries,
      pageByPage(async (obligationId, list, cursor) => {
        const endpoint = PAGED_ENDPOINT[list];
        const [page] = (await this.dataSource.query(
          `SELECT convert_from(body, 'UTF8') AS body FROM klear_response_archive
            WHERE endpoint = $1 AND id > $2 AND job_run_id IS NOT DISTINCT FROM $3 AND params->>'obligation_id' = $4
              AND (params->>'cursor') IS NOT DISTINCT FROM $5::text
            ORDER BY id LIMIT 1`,
          [`${ENDPOINTS[endpoint].method} ${ENDPOINTS[endpoint].path}`, answer.id, answer.jobRunId, obligationId, cursor ?? null],
        )) as Array<{ body: string }>;
        if (page === undefined) throw new Error(`obligation ${obligationId}: no archived ${list} page${cursor ? ' for its cursor' : ''}`);
        const data = parseKlearAnswer(endpoint, page.body) as unknown as Record<DetailListName, ObligationEntry[DetailListName]> & { cursor?: string };
        return { rows: data[list], cursor: data.cursor };
      }),
      (entry) => heldComplete({ query: (sql, params) => this.dataSource.query(sql, params) }, entry),
    );
  }
}
