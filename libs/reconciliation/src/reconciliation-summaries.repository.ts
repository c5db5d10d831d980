import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { type AuditEvent, AuditService } from '@app/audit';
import { DataSource } from 'typeorm';
import { isoTimestampText } from '@app/db';

/** One summary row whose stored figures differ from the figures recomputed from its source rows. */
export interface SummaryDifference {
  table:
    | 'klear_settlement_summary'
    | 'ledger_trading_summary'
    | 'klear_funding_summary'
    | 'ledger_funding_summary'
    | 'klear_subtrader_latest_figures';
  /** obligation id, or the cycle as an ISO timestamp (a ledger funding summary's followed by `/` and its asset class). */
  scope: string;
  subtrader_id: string;
  /**
   * [rows, pnl, fees, fingerprint_1, fingerprint_2, inconsistent rows (Klear only)] as decimal
   * strings, [rows, funding, fingerprint_1, fingerprint_2] for the funding summaries, [cycle, pnl, fees, total,
   * maintenance margin, its delta, funding, funding payments] for a subtrader's latest figures (derived
   * from the summaries and the margin rows); null when the row is absent.
   */
  stored: string[] | null;
  recomputed: string[] | null;
}

const FIGURES = (t: string, rows: string, extra = '') =>
  `CASE WHEN ${t}.subtrader_id IS NULL THEN NULL ELSE ARRAY[${t}.${rows}, ${t}.pnl_centicents, ${t}.fees_centicents, ${t}.fingerprint_1, ${t}.fingerprint_2${extra ? `, ${t}.${extra}` : ''}]::text[] END`;

const FUNDING_FIGURES = (t: string, rows: string) =>
  `CASE WHEN ${t}.subtrader_id IS NULL THEN NULL ELSE ARRAY[${t}.${rows}, ${t}.funding_centicents, ${t}.fingerprint_1, ${t}.fingerprint_2]::text[] END`;

/** A subtrader's latest figures, after its cycle: what GET /subtraders shows. */
const LATEST_FIGURE_COLUMNS = [
  'pnl_centicents',
  'fees_centicents',
  'total_centicents',
  'maintenance_margin_centicents',
  'maintenance_margin_delta_centicents',
  'funding_centicents',
  'funding_payment_count',
];

const LATEST_FIGURES = (t: string) =>
  `CASE WHEN ${t}.subtrader_id IS NULL THEN NULL
        ELSE ARRAY[${[isoTimestampText(`${t}.cycle`), ...LATEST_FIGURE_COLUMNS.map((c) => `${t}.${c}::text`)].join(', ')}] END`;

const CYCLE_TEXT = (t: string, u: string) => isoTimestampText(`coalesce(${t}.cycle, ${u}.cycle)`);

const DIFFERENCES_SQL = `
  SELECT 'klear_settlement_summary' AS "table", coalesce(s.obligation_id, r.obligation_id) AS scope, coalesce(s.subtrader_id, r.subtrader_id) AS subtrader_id,
         ${FIGURES('s', 'detail_rows', 'inconsistent_rows')} AS stored, ${FIGURES('r', 'detail_rows', 'inconsistent_rows')} AS recomputed
    FROM klear_settlement_summary s
    FULL OUTER JOIN recon_klear_settlement_summary_recomputed() r ON r.obligation_id = s.obligation_id AND r.subtrader_id = s.subtrader_id
   WHERE (s.detail_rows, s.pnl_centicents, s.fees_centicents, s.total_centicents, s.fingerprint_1, s.fingerprint_2, s.inconsistent_rows)
         IS DISTINCT FROM (r.detail_rows, r.pnl_centicents, r.fees_centicents, r.total_centicents, r.fingerprint_1, r.fingerprint_2, r.inconsistent_rows)
  UNION ALL
  SELECT 'ledger_trading_summary', ${CYCLE_TEXT('s', 'r')}, coalesce(s.subtrader_id, r.subtrader_id),
         ${FIGURES('s', 'posting_count')}, ${FIGURES('r', 'posting_count')}
    FROM ledger_trading_summary s
    FULL OUTER JOIN recon_ledger_trading_summary_recomputed() r ON r.cycle = s.cycle AND r.asset_class = s.asset_class AND r.subtrader_id = s.subtrader_id
   WHERE (s.posting_count, s.pnl_centicents, s.fees_centicents, s.fingerprint_1, s.fingerprint_2)
         IS DISTINCT FROM (r.posting_count, r.pnl_centicents, r.fees_centicents, r.fingerprint_1, r.fingerprint_2)
  UNION ALL
  SELECT 'klear_funding_summary', coalesce(s.obligation_id, r.obligation_id), coalesce(s.subtrader_id, r.subtrader_id),
         ${FUNDING_FIGURES('s', 'payment_count')}, ${FUNDING_FIGURES('r', 'payment_count')}
    FROM klear_funding_summary s
    FULL OUTER JOIN recon_klear_funding_summary_recomputed() r ON r.obligation_id = s.obligation_id AND r.subtrader_id = s.subtrader_id
   WHERE (s.payment_count, s.funding_centicents, s.fingerprint_1, s.fingerprint_2) IS DISTINCT FROM (r.payment_count, r.funding_centicents, r.fingerprint_1, r.fingerprint_2)
  UNION ALL
  SELECT 'ledger_funding_summary', ${CYCLE_TEXT('s', 'r')} || '/' || coalesce(s.asset_class, r.asset_class), coalesce(s.subtrader_id, r.subtrader_id),
         ${FUNDING_FIGURES('s', 'posting_count')}, ${FUNDING_FIGURES('r', 'posting_count')}
    FROM ledger_funding_summary s
    FULL OUTER JOIN recon_ledger_funding_summary_recomputed() r ON r.cycle = s.cycle AND r.asset_class = s.asset_class AND r.subtrader_id = s.subtrader_id
   WHERE (s.posting_count, s.funding_centicents, s.fingerprint_1, s.fingerprint_2) IS DISTINCT FROM (r.posting_count, r.funding_centicents, r.fingerprint_1, r.fingerprint_2)
  UNION ALL
  SELECT 'klear_subtrader_latest_figures', ${CYCLE_TEXT('s', 'r')}, coalesce(s.subtrader_id, r.subtrader_id), ${LATEST_FIGURES('s')}, ${LATEST_FIGURES('r')}
    FROM klear_subtrader_latest_figures s
    FULL OUTER JOIN klear_subtrader_latest_figures_recomputed() r ON r.subtrader_id = s.subtrader_id
   WHERE (s.cycle, ${LATEST_FIGURE_COLUMNS.map((c) => `s.${c}`).join(', ')}) IS DISTINCT FROM (r.cycle, ${LATEST_FIGURE_COLUMNS.map((c) => `r.${c}`).join(', ')})
  ORDER BY 1, 2, 3`;

/** What a rebuild wrote: the rows of each summary, and how many differed before. */
export interface SummariesRebuilt {
  klear_rows: number;
  ledger_rows: number;
  klear_funding_rows: number;
  ledger_funding_rows: number;
  /** Rows of klear_subtrader_latest_figures the refresh wrote or removed (none when they agreed). */
  latest_figures_rows_changed: number;
  differences_before: number;
}

/** The trigger-maintained summaries against their source rows (ReconciliationSummaries says when and why). */
@Injectable()
export class ReconciliationSummariesRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  /** Every summary row that differs from its source rows, read in one snapshot. */
  differences(): Promise<SummaryDifference[]> {
    return this.dataSource.transaction('REPEATABLE READ', async (tx) => (await tx.query(DIFFERENCES_SQL)) as SummaryDifference[]);
  }

  /**
   * Recomputes every summary from the source rows in one transaction, writers held off meanwhile;
   * the audit row `audited(outcome)` commits with it.
   */
  rebuild(audited: (outcome: SummariesRebuilt) => AuditEvent): Promise<SummariesRebuilt> {
    return this.dataSource.transaction(async (tx) => {
      await tx.query(
        'LOCK TABLE klear_obligation, klear_settlement_detail, klear_margin_detail, klear_funding_payment, journal_posting IN SHARE MODE',
      );
      const before = ((await tx.query(DIFFERENCES_SQL)) as unknown[]).length;
      const again = async (table: string) => {
        await tx.query(`DELETE FROM ${table}`);
        const [{ n }] = (await tx.query(
          `WITH w AS (INSERT INTO ${table} SELECT * FROM recon_${table}_recomputed() RETURNING 1) SELECT count(*)::int AS n FROM w`,
        )) as Array<{ n: number }>;
        return n;
      };
      const outcome = {
        klear_rows: await again('klear_settlement_summary'),
        ledger_rows: await again('ledger_trading_summary'),
        klear_funding_rows: await again('klear_funding_summary'),
        ledger_funding_rows: await again('ledger_funding_summary'),
        // Derived from the Klear summaries just rebuilt: refreshed after them.
        latest_figures_rows_changed: ((await tx.query(`SELECT klear_subtrader_latest_figures_refresh() AS n`)) as Array<{ n: number }>)[0]
          .n,
        differences_before: before,
      };
      await this.audit.record(audited(outcome), tx);
      return outcome;
    });
  }
}
