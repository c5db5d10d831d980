import { Column, Entity } from 'typeorm';
import { bigintColumn } from '../columns';

/*
 * Per-(cycle, subtrader) summaries of the two sides of the settlement-details check, maintained
 * by statement-level triggers on the source tables in the writer's own transaction (migration
 * ReconciliationSummaries), never written by application code. A reconciliation run compares
 * these (10,000 rows, not 1,000,000) and examines market by market only the subtraders whose
 * summaries differ. `npm run cli -- recon:verify-summaries` recomputes them from the source rows.
 *
 * Fingerprints: sum over rows of (pnl mod p) * w_pnl(market) + (fees mod p) * w_fees(market),
 * mod p, with the weights taken from hashtextextended(market_ticker, key); fingerprint_1 uses
 * p = 2147483647, fingerprint_2 p = 2147483629, each with a 64-bit key generated per installation
 * (table recon_fingerprint_key, read only by the security-definer trigger functions; see
 * docs/ledger-and-breaks.md, "How the settlement-details check runs").
 */

/** The two keyed fingerprints of a summary's rows, embedded (same column names, no prefix) in each summary. */
export class SummaryFingerprints {
  @Column({ ...bigintColumn, name: 'fingerprint_1' })
  fingerprint1: bigint;

  @Column({ ...bigintColumn, name: 'fingerprint_2' })
  fingerprint2: bigint;
}

/** Klear's side: one obligation's rows, per subtrader. */
export abstract class KlearObligationSummary {
  @Column({ type: 'text', name: 'obligation_id', primary: true })
  obligationId: string;

  @Column({ type: 'text', name: 'subtrader_id', primary: true })
  subtraderId: string;
}

/** The ledger's side: one cycle's postings, per subtrader. */
export abstract class LedgerCycleSummary {
  @Column({ type: 'timestamptz', name: 'cycle', primary: true })
  cycle: Date;

  @Column({ type: 'text', name: 'subtrader_id', primary: true })
  subtraderId: string;

  @Column({ ...bigintColumn, name: 'posting_count' })
  postingCount: bigint;
}

/** Klear's settlement details of one obligation, per subtrader. */
@Entity({ name: 'klear_settlement_summary' })
export class KlearSettlementSummary extends KlearObligationSummary {
  @Column({ ...bigintColumn, name: 'detail_rows' })
  detailRows: bigint;

  @Column({ ...bigintColumn, name: 'pnl_centicents' })
  pnlCenticents: bigint;

  @Column({ ...bigintColumn, name: 'fees_centicents' })
  feesCenticents: bigint;

  @Column({ ...bigintColumn, name: 'total_centicents' })
  totalCenticents: bigint;

  @Column(() => SummaryFingerprints, { prefix: false })
  fingerprints: SummaryFingerprints;

  /** Details whose total_amount is not pnl - fees (Klear inconsistent with itself): examined one by one. */
  @Column({ ...bigintColumn, name: 'inconsistent_rows', default: 0 })
  inconsistentRows: bigint;
}

/**
 * The ledger's trading_pnl and trading_fees postings of one cycle, per subtrader ('' for postings
 * without one). Fees carry Klear's sign (minus the trading_fees postings), so both sides compare.
 */
@Entity({ name: 'ledger_trading_summary' })
export class LedgerTradingSummary extends LedgerCycleSummary {
  @Column({ type: 'text', name: 'asset_class', primary: true, default: 'Crypto' })
  assetClass: string;

  @Column({ ...bigintColumn, name: 'pnl_centicents' })
  pnlCenticents: bigint;

  @Column({ ...bigintColumn, name: 'fees_centicents' })
  feesCenticents: bigint;

  @Column(() => SummaryFingerprints, { prefix: false })
  fingerprints: SummaryFingerprints;
}

/*
 * The funding check's summaries (migration FundingSummaries), kept the same way: counts, sums and the
 * two keyed fingerprints of the per-market figures (the amount in the PnL place, no fees).
 */

/** Klear's funding payments of one obligation, per subtrader (every funding time together). */
@Entity({ name: 'klear_funding_summary' })
export class KlearFundingSummary extends KlearObligationSummary {
  @Column({ ...bigintColumn, name: 'payment_count' })
  paymentCount: bigint;

  @Column({ ...bigintColumn, name: 'funding_centicents' })
  fundingCenticents: bigint;

  @Column(() => SummaryFingerprints, { prefix: false })
  fingerprints: SummaryFingerprints;
}

/** The ledger's funding postings of one cycle and asset class, per subtrader (postings without one are not read). */
@Entity({ name: 'ledger_funding_summary' })
export class LedgerFundingSummary extends LedgerCycleSummary {
  @Column({ type: 'text', name: 'asset_class', primary: true })
  assetClass: string;

  @Column({ ...bigintColumn, name: 'funding_centicents' })
  fundingCenticents: bigint;

  @Column(() => SummaryFingerprints, { prefix: false })
  fingerprints: SummaryFingerprints;
}
