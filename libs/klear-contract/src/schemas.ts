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
/** A fixed-point count string (`"1.25"`, may be negative): kept exact as text, never a float. */
export const fixedPointCountSchema = z.string().regex(/^-?[0-9]+(\.[0-9]+)?$/);
/** Klear may send a list as `null`: treated as empty everywhere. */
export const nullableList = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .nullable()
    .transform((list): z.output<T>[] => list ?? []);
/** The last page has no cursor, a `null` one or `""`: all three read as absent. */
export const pageCursorSchema = z
  .string()
  .nullable()
  .optional()
  .transform((cursor) => (cursor ? cursor : undefined));
/** `"Crypto"` is the only asset class today; more will come, so any non-empty name is accepted. */
export const assetClassSchema = z.string().min(1);
export const reportDateSchema = z.iso.date();
/** Withdrawal amount as Klear answers it: a positive USD string with exactly two decimals. */
export const usdAmountWireSchema = z
  .string()
  .regex(USD_AMOUNT_WIRE)
  .refine((text) => /[1-9]/.test(text), 'must be positive');

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
export const marginReportsResponseSchema = z.object({ reports: nullableList(marginReportSchema) });

export const obligationInfoSchema = z.object({
  id: z.string().min(1),
  user_id: z.string(),
  amount_centicents: centicentsSchema,
  fees_centicents: centicentsSchema,
  maintenance_margin_centicents: centicentsSchema,
  pnl_centicents: centicentsSchema,
  execution_time: dateTimeSchema,
  last_updated_ts: dateTimeSchema,
  asset_class: assetClassSchema,
});

export const obligationReceiveSchema = z.object({
  id: z.string().min(1),
  type: z.string(),
  amount_centicents: centicentsSchema,
  external_reference: z.string(),
  created_ts: dateTimeSchema,
});

/** The fields that name a per-market row of a subtrader (settlement details, funding payments). */
const subtraderMarketRowShape = {
  id: z.string().min(1),
  market_ticker: z.string(),
  subtrader_id: z.string(),
};

export const settlementDetailSchema = z.object({
  ...subtraderMarketRowShape,
  position_quantity_fp: fixedPointCountSchema,
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
  /** Set when the margin belongs to a netted subtrader group, not to one subtrader. */
  margin_group_id: z.string().optional(),
});

export const fundingPaymentDetailSchema = z.object({
  ...subtraderMarketRowShape,
  funding_time: dateTimeSchema,
  position_quantity_fp: fixedPointCountSchema,
  notional_value_centicents: centicentsSchema,
  funding_amount_centicents: centicentsSchema,
});

/** Inline lists hold at most this many rows; a `*_truncated` flag sends the reader to the paged endpoint. */
export const INLINE_DETAIL_CAP = 1_000;

export const obligationEntrySchema = obligationInfoSchema.extend({
  receives: nullableList(obligationReceiveSchema),
  settlement_details: nullableList(settlementDetailSchema),
  maintenance_margin_details: nullableList(maintenanceMarginDetailSchema),
  funding_payments: nullableList(fundingPaymentDetailSchema),
  settlement_details_truncated: z.boolean().optional(),
  maintenance_margin_details_truncated: z.boolean().optional(),
  funding_payments_truncated: z.boolean().optional(),
});

export const activeObligationsResponseSchema = z.object({ obligations: nullableList(obligationEntrySchema) });

export const obligationHistoryResponseSchema = z.object({
  obligations: nullableList(obligationEntrySchema),
  cursor: pageCursorSchema,
});

export const obligationSettlementDetailsResponseSchema = z.object({
  settlement_details: nullableList(settlementDetailSchema),
  cursor: pageCursorSchema,
});
export const obligationMaintenanceMarginDetailsResponseSchema = z.object({
  maintenance_margin_details: nullableList(maintenanceMarginDetailSchema),
  cursor: pageCursorSchema,
});
export const obligationFundingPaymentsResponseSchema = z.object({
  funding_payments: nullableList(fundingPaymentDetailSchema),
  cursor: pageCursorSchema,
});

export const settlementEstimateSchema = z.object({
  variation_margin_centicents: centicentsSchema,
  total_fees_centicents: centicentsSchema,
  maintenance_margin_delta_centicents: centicentsSchema,
  maintenance_margin_required_centicents: centicentsSchema,
  total_amount_centicents: centicentsSchema,
  positions: z
    .record(
      z.string(),
      z.object({
        quantity_centicount: z.bigint(),
        variation_margin_centicents: centicentsSchema,
        notional_value_centicents: centicentsSchema,
      }),
    )
    .optional(),
});

/**
 * One asset class of the by-asset-class estimate: only `next_runtime` is required. Per asset class,
 * `subtrader_breakdowns` and `group_breakdowns` together hold at most the 1,000 entries with the
 * largest maintenance margin requirement; the omitted counts say how many were left out (their
 * amounts stay in `user_breakdown`, always the aggregate of every subtrader).
 */
export const assetClassSettlementEstimateSchema = z.object({
  next_runtime: dateTimeSchema,
  user_breakdown: settlementEstimateSchema.optional(),
  subtrader_breakdowns: z.record(z.string(), settlementEstimateSchema).optional(),
  group_breakdowns: z.record(z.string(), settlementEstimateSchema).optional(),
  prev_settlement_prices: z.record(z.string(), centicentsSchema).optional(),
  omitted_subtrader_count: klearCountSchema.optional(),
  omitted_group_count: klearCountSchema.optional(),
});

export const settlementEstimateByAssetClassResponseSchema = z.object({
  estimates: z.record(z.string(), assetClassSettlementEstimateSchema),
  settlement_balance_centicents: centicentsSchema,
});

export const settlementPricesResponseSchema = z.object({ settlement_prices: z.record(z.string(), centicentsSchema) });

export const memberFundingPaymentSchema = z.object({
  market_ticker: z.string(),
  subtrader_id: z.string(),
  funding_time: dateTimeSchema,
  position_quantity_fp: fixedPointCountSchema,
  notional_value_centicents: centicentsSchema,
  funding_amount_centicents: centicentsSchema,
});
export const memberFundingPaymentsResponseSchema = z.object({
  payments: nullableList(memberFundingPaymentSchema),
  cursor: pageCursorSchema,
});

export const marginSubtraderGroupSchema = z.object({ group_id: z.string().min(1), member_subtrader_ids: nullableList(z.string()) });
export const marginSubtraderGroupsResponseSchema = z.object({ groups: nullableList(marginSubtraderGroupSchema) });
export const marginSubtraderGroupRequestSchema = z.object({ subtrader_ids: z.array(z.string().min(1)).min(1) });
export const createMarginSubtraderGroupResponseSchema = z.object({ group_id: z.string().min(1) });
export const emptyResponseSchema = z.object({});

export const estimateMaintenanceMarginPositionSchema = z.object({
  market_ticker: z.string().min(1),
  quantity: z.bigint(),
  price: z.string().regex(/^[0-9]+(\.[0-9]+)?$/),
});
export const estimateMaintenanceMarginRequestSchema = z.object({
  asset_class: assetClassSchema,
  positions: z.array(estimateMaintenanceMarginPositionSchema),
  date: reportDateSchema.optional(),
  clearing_type: z.string().optional(),
});
export const estimateMaintenanceMarginResponseSchema = z.object({
  maintenance_margin_fp: z
    .string()
    .regex(/^-?[0-9]+(\.[0-9]+)?$/)
    .optional(),
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
  entries: nullableList(settlementBalanceHistoryEntrySchema),
  cursor: pageCursorSchema,
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
  positions: nullableList(largeTraderPositionSchema),
});

/** LEGACY: `POST /log_in` was removed upstream; kept only for the labelled legacy session mode (off by default). */
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
export type FundingPaymentDetail = z.infer<typeof fundingPaymentDetailSchema>;
export type ActiveObligationsResponse = z.infer<typeof activeObligationsResponseSchema>;
export type SettlementPricesResponse = z.infer<typeof settlementPricesResponseSchema>;
export type MemberFundingPayment = z.infer<typeof memberFundingPaymentSchema>;
export type MemberFundingPaymentsResponse = z.infer<typeof memberFundingPaymentsResponseSchema>;
export type MarginSubtraderGroup = z.infer<typeof marginSubtraderGroupSchema>;
export type EstimateMaintenanceMarginRequest = z.infer<typeof estimateMaintenanceMarginRequestSchema>;
export type ObligationHistoryResponse = z.infer<typeof obligationHistoryResponseSchema>;
export type SettlementEstimate = z.infer<typeof settlementEstimateSchema>;
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
