import { bigintColumnTransformer } from '@app/money';
import { Column, Entity } from 'typeorm';

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

/** Klear's settlement details of one obligation, per subtrader. */
@Entity({ name: 'klear_settlement_summary' })
export class KlearSettlementSummary {
  @Column({ type: 'text', name: 'obligation_id', primary: true })
  obligationId: string;

  @Column({ type: 'text', name: 'subtrader_id', primary: true })
  subtraderId: string;

  @Column({ type: 'bigint', name: 'detail_rows', transformer: bigintColumnTransformer })
  detailRows: bigint;

  @Column({ type: 'bigint', name: 'pnl_centicents', transformer: bigintColumnTransformer })
  pnlCenticents: bigint;

  @Column({ type: 'bigint', name: 'fees_centicents', transformer: bigintColumnTransformer })
  feesCenticents: bigint;

  @Column({ type: 'bigint', name: 'total_centicents', transformer: bigintColumnTransformer })
  totalCenticents: bigint;

  @Column({ type: 'bigint', name: 'fingerprint_1', transformer: bigintColumnTransformer })
  fingerprint1: bigint;

  @Column({ type: 'bigint', name: 'fingerprint_2', transformer: bigintColumnTransformer })
  fingerprint2: bigint;

  /** Details whose total_amount is not pnl - fees (Klear inconsistent with itself): examined one by one. */
  @Column({ type: 'bigint', name: 'inconsistent_rows', default: 0, transformer: bigintColumnTransformer })
  inconsistentRows: bigint;
}

/**
 * The ledger's trading_pnl and trading_fees postings of one cycle, per subtrader ('' for postings
 * without one). Fees carry Klear's sign (minus the trading_fees postings), so both sides compare.
 */
@Entity({ name: 'ledger_trading_summary' })
export class LedgerTradingSummary {
  @Column({ type: 'timestamptz', name: 'cycle', primary: true })
  cycle: Date;

  @Column({ type: 'text', name: 'subtrader_id', primary: true })
  subtraderId: string;

  @Column({ type: 'text', name: 'asset_class', primary: true, default: 'Crypto' })
  assetClass: string;

  @Column({ type: 'bigint', name: 'posting_count', transformer: bigintColumnTransformer })
  postingCount: bigint;

  @Column({ type: 'bigint', name: 'pnl_centicents', transformer: bigintColumnTransformer })
  pnlCenticents: bigint;

  @Column({ type: 'bigint', name: 'fees_centicents', transformer: bigintColumnTransformer })
  feesCenticents: bigint;

  @Column({ type: 'bigint', name: 'fingerprint_1', transformer: bigintColumnTransformer })
  fingerprint1: bigint;

  @Column({ type: 'bigint', name: 'fingerprint_2', transformer: bigintColumnTransformer })
  fingerprint2: bigint;
}

/*
 * The funding check's summaries (migration FundingSummaries), kept the same way: counts, sums and the
 * two keyed fingerprints of the per-market figures (the amount in the PnL place, no fees).
 */

/** Klear's funding payments of one obligation, per subtrader (every funding time together). */
@Entity({ name: 'klear_funding_summary' })
export class KlearFundingSummary {
  @Column({ type: 'text', name: 'obligation_id', primary: true })
  obligationId: string;

  @Column({ type: 'text', name: 'subtrader_id', primary: true })
  subtraderId: string;

  @Column({ type: 'bigint', name: 'payment_count', transformer: bigintColumnTransformer })
  paymentCount: bigint;

  @Column({ type: 'bigint', name: 'funding_centicents', transformer: bigintColumnTransformer })
  fundingCenticents: bigint;

  @Column({ type: 'bigint', name: 'fingerprint_1', transformer: bigintColumnTransformer })
  fingerprint1: bigint;

  @Column({ type: 'bigint', name: 'fingerprint_2', transformer: bigintColumnTransformer })
  fingerprint2: bigint;
}

/** The ledger's funding postings of one cycle and asset class, per subtrader (postings without one are not read). */
@Entity({ name: 'ledger_funding_summary' })
export class LedgerFundingSummary {
  @Column({ type: 'timestamptz', name: 'cycle', primary: true })
  cycle: Date;

  @Column({ type: 'text', name: 'asset_class', primary: true })
  assetClass: string;

  @Column({ type: 'text', name: 'subtrader_id', primary: true })
  subtraderId: string;

  @Column({ type: 'bigint', name: 'posting_count', transformer: bigintColumnTransformer })
  postingCount: bigint;

  @Column({ type: 'bigint', name: 'funding_centicents', transformer: bigintColumnTransformer })
  fundingCenticents: bigint;

  @Column({ type: 'bigint', name: 'fingerprint_1', transformer: bigintColumnTransformer })
  fingerprint1: bigint;

  @Column({ type: 'bigint', name: 'fingerprint_2', transformer: bigintColumnTransformer })
  fingerprint2: bigint;
}
