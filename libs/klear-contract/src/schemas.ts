import { z } from 'zod';
import { USD_AMOUNT_WIRE } from './usd-amount';

// Schemas validate the output of parseKlearJson: every JSON integer arrives as a bigint.
// Objects tolerate fields Klear may add later; a missing or mistyped known field fails.

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Integer centicents (int64). A number with a fraction or an exponent fails: it is never rounded. */
export const centicentsSchema = z.bigint().min(INT64_MIN).max(INT64_MAX);
/** A count (entries left out, ...) delivered as a JSON integer; exposed as a safe JS number. */
export const klearCountSchema = z
  .bigint()
  .min(0n)
  .max(BigInt(Number.MAX_SAFE_INTEGER))
  .transform((count) => Number(count));
export const dateTimeSchema = z.iso.datetime({ offset: true });
export const reportDateSchema = z.iso.date();
/** Withdrawal amount as Klear answers it: a positive USD string with exactly two decimals. */
export const usdAmountWireSchema = z.string().regex(USD_AMOUNT_WIRE).refine((text) => /[1-9]/.test(text), 'must be positive');

export const klearErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  details: z.string().optional(),
  service: z.string().optional(),
});

export const MARGIN_REPORT_TYPES = [
  'trade_audit',
  'position_snapshot',
  'market_price_snapshot',
  'funding_periods',
  'settlement_periods',
] as const;
export const marginReportTypeSchema = z.enum(MARGIN_REPORT_TYPES);

export const marginReportSchema = z.object({
  report_type: marginReportTypeSchema,
  url: z.string().min(1),
  date: reportDateSchema,
  created_ts: dateTimeSchema,
  is_end_of_day: z.boolean(),
});
export const marginReportsResponseSchema = z.object({ reports: z.array(marginReportSchema) });

export const obligationInfoSchema = z.object({
  id: z.string().min(1),
  user_id: z.string(),
  amount_centicents: centicentsSchema,
  fees_centicents: centicentsSchema,
  maintenance_margin_centicents: centicentsSchema,
  pnl_centicents: centicentsSchema,
  execution_time: dateTimeSchema,
  last_updated_ts: dateTimeSchema,
});

export const obligationReceiveSchema = z.object({
  id: z.string().min(1),
  type: z.string(),
  amount_centicents: centicentsSchema,
  external_reference: z.string(),
  created_ts: dateTimeSchema,
});

export const settlementDetailSchema = z.object({
  id: z.string().min(1),
  market_ticker: z.string(),
  subtrader_id: z.string(),
  pnl_centicents: centicentsSchema,
  total_fees_centicents: centicentsSchema,
  total_amount_centicents: centicentsSchema,
});

export const maintenanceMarginDetailSchema = z.object({
  id: z.string().min(1),
  /** Klear may leave it empty; reconciliation reports such rows instead of dropping them. */
  subtrader_id: z.string(),
  maintenance_margin_centicents: centicentsSchema,
  maintenance_margin_delta_centicents: centicentsSchema,
});

export const obligationEntrySchema = obligationInfoSchema.extend({
  receives: z.array(obligationReceiveSchema),
  settlement_details: z.array(settlementDetailSchema),
  maintenance_margin_details: z.array(maintenanceMarginDetailSchema),
});

export const activeObligationResponseSchema = z.object({ obligation: obligationEntrySchema.nullable() });

export const obligationHistoryResponseSchema = z.object({
  obligations: z.array(obligationEntrySchema),
  cursor: z.string().min(1).optional(),
});

export const settlementEstimateSchema = z.object({
  variation_margin_centicents: centicentsSchema,
  total_fees_centicents: centicentsSchema,
  maintenance_margin_delta_centicents: centicentsSchema,
  maintenance_margin_required_centicents: centicentsSchema,
  total_amount_centicents: centicentsSchema,
});

export const settlementEstimateResponseSchema = z.object({
  user_breakdown: settlementEstimateSchema,
  subtrader_breakdowns: z.record(z.string(), settlementEstimateSchema).optional(),
  settlement_balance_centicents: centicentsSchema,
});

/**
 * One asset class of the by-asset-class estimate. The project's reading of Klear's description:
 * per asset class, `subtrader_breakdowns` and `group_breakdowns` together hold at most the 1,000
 * entries with the largest maintenance margin requirement; the omitted counts say how many were cut.
 */
export const assetClassSettlementEstimateSchema = z.object({
  user_breakdown: settlementEstimateSchema,
  subtrader_breakdowns: z.record(z.string(), settlementEstimateSchema).optional(),
  group_breakdowns: z.record(z.string(), settlementEstimateSchema).optional(),
  omitted_subtrader_count: klearCountSchema,
  omitted_group_count: klearCountSchema,
});

export const settlementEstimateByAssetClassResponseSchema = z.object({
  asset_classes: z.record(z.string(), assetClassSettlementEstimateSchema),
  settlement_balance_centicents: centicentsSchema,
});

export const settlementBalanceResponseSchema = z.object({
  user_id: z.string(),
  balance_available_centicents: centicentsSchema,
  locked_balance_centicents: centicentsSchema.optional(),
});

export const settlementBalanceHistoryEntrySchema = z.object({
  balance_delta_centicents: centicentsSchema,
  locked_balance_delta_centicents: centicentsSchema,
  reason: z.string(),
  business_transaction_id: z.string(),
  created_ts: dateTimeSchema,
});

export const settlementBalanceHistoryResponseSchema = z.object({
  entries: z.array(settlementBalanceHistoryEntrySchema),
  cursor: z.string().min(1).optional(),
});

export const withdrawalRequestSchema = z.object({ amount: z.string() });
export const withdrawalCreatedResponseSchema = z.object({ id: z.string().min(1) });

export const WITHDRAWAL_STATUSES = ['pending', 'processing', 'processed', 'failed'] as const;
export const withdrawalStatusSchema = z.enum(WITHDRAWAL_STATUSES);
export const withdrawalSchema = z.object({
  id: z.string().min(1),
  amount: usdAmountWireSchema,
  status: withdrawalStatusSchema,
  created_ts: dateTimeSchema,
});

export const guarantyFundBalanceResponseSchema = z.object({
  user_id: z.string(),
  amount_centicents: centicentsSchema,
  updated_ts: dateTimeSchema,
});

export const largeTraderPositionSchema = z.object({
  market_ticker: z.string(),
  /** Signed contract count. */
  position: z.bigint(),
});
export const largeTraderPositionsResponseSchema = z.object({
  user_id: z.string(),
  report_date: reportDateSchema,
  positions: z.array(largeTraderPositionSchema),
});

export const logInRequestSchema = z.object({
  email: z.string(),
  password: z.string(),
  code: z.string().optional(),
});
/** Klear's login answer body is not specified; the session is in the Set-Cookie header. */
export const logInResponseSchema = z.object({ user_id: z.string().optional() });

export type KlearError = z.infer<typeof klearErrorSchema>;
export type MarginReportType = z.infer<typeof marginReportTypeSchema>;
export type MarginReport = z.infer<typeof marginReportSchema>;
export type MarginReportsResponse = z.infer<typeof marginReportsResponseSchema>;
export type ObligationInfo = z.infer<typeof obligationInfoSchema>;
export type ObligationReceive = z.infer<typeof obligationReceiveSchema>;
export type SettlementDetail = z.infer<typeof settlementDetailSchema>;
export type MaintenanceMarginDetail = z.infer<typeof maintenanceMarginDetailSchema>;
export type ObligationEntry = z.infer<typeof obligationEntrySchema>;
export type ActiveObligationResponse = z.infer<typeof activeObligationResponseSchema>;
export type ObligationHistoryResponse = z.infer<typeof obligationHistoryResponseSchema>;
export type SettlementEstimate = z.infer<typeof settlementEstimateSchema>;
export type SettlementEstimateResponse = z.infer<typeof settlementEstimateResponseSchema>;
export type AssetClassSettlementEstimate = z.infer<typeof assetClassSettlementEstimateSchema>;
export type SettlementEstimateByAssetClassResponse = z.infer<typeof settlementEstimateByAssetClassResponseSchema>;
export type SettlementBalanceResponse = z.infer<typeof settlementBalanceResponseSchema>;
export type SettlementBalanceHistoryEntry = z.infer<typeof settlementBalanceHistoryEntrySchema>;
export type SettlementBalanceHistoryResponse = z.infer<typeof settlementBalanceHistoryResponseSchema>;
export type WithdrawalRequest = z.infer<typeof withdrawalRequestSchema>;
export type WithdrawalCreatedResponse = z.infer<typeof withdrawalCreatedResponseSchema>;
export type WithdrawalStatus = z.infer<typeof withdrawalStatusSchema>;
export type Withdrawal = z.infer<typeof withdrawalSchema>;
export type GuarantyFundBalanceResponse = z.infer<typeof guarantyFundBalanceResponseSchema>;
export type LargeTraderPosition = z.infer<typeof largeTraderPositionSchema>;
export type LargeTraderPositionsResponse = z.infer<typeof largeTraderPositionsResponseSchema>;
export type LogInRequest = z.infer<typeof logInRequestSchema>;
