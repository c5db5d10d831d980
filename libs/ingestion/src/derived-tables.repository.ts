import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AdvisoryLocks, lockForTransaction } from '@app/db';

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
  'klear_subtrader_latest_figures',
];

/** The file columns of a downloaded margin report, by the report's identity (its row id changes in a rebuild). */
export interface DownloadedReportFile {
  report_type: string;
  report_date: string;
  created_ts: Date;
  file_path: string;
  file_size: string;
  file_sha256: string;
  downloaded_at: Date | null;
}

/** The tables ingestion derives from the archive, as a rebuild empties and refills them. */
@Injectable()
export class DerivedTablesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Reports whose file is stored: their file columns survive the rebuild. */
  downloadedReportFiles(): Promise<DownloadedReportFile[]> {
    return this.dataSource.query(
      `SELECT report_type, report_date::text AS report_date, created_ts, file_path, file_size, file_sha256, downloaded_at FROM klear_margin_report WHERE file_sha256 IS NOT NULL`,
    ) as Promise<DownloadedReportFile[]>;
  }

  /** Empties every derived table and the report rows (klear_withdrawal is KlearWithdrawalRepository's: its rows stay). */
  async empty(): Promise<void> {
    // The obligation writers' lock first: the TRUNCATE's triggers refresh the obligations' kept payment
    // under it, and a writer holding it (its rows waiting on the TRUNCATE's table locks) would deadlock.
    await this.dataSource.transaction(async (tx) => {
      await lockForTransaction(tx, AdvisoryLocks.obligationWrites);
      await tx.query(`TRUNCATE ${[...DERIVED_TABLES, 'klear_margin_report'].join(', ')}`);
    });
  }

  /** Puts the kept file columns back on the report rows the listing re-created. */
  async restoreReportFiles(files: readonly DownloadedReportFile[]): Promise<void> {
    for (const f of files) {
      await this.dataSource.query(
        `UPDATE klear_margin_report SET file_path = $4, file_size = $5, file_sha256 = $6, downloaded_at = $7
          WHERE report_type = $1 AND report_date = $2::date AND created_ts = $3`,
        [f.report_type, f.report_date, f.created_ts, f.file_path, f.file_size, f.file_sha256, f.downloaded_at],
      );
    }
  }
}
