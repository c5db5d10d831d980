/**
 * The live Klear API (revision 2 of docs/klear-api-contract.md, checked against Kalshi's "Kalshi Clearing
 * Member API" reference, spec 3.22-3.24) as an OpenAPI 3.1 document: the single source of the
 * contract. The zod schemas of ./schemas are tested against it (openapi-agreement.spec.ts), and the
 * simulator's answers are validated against it in the test suite (conformance).
 *
 * Removed upstream and therefore absent: GET /margin/active_obligation, GET /margin/settlement_estimate,
 * POST /log_in (the legacy session login stays in ENDPOINTS only, off by default).
 *
 * `npm run contract:openapi` writes this document to libs/klear-contract/openapi.json.
 */

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const int64 = (description?: string): Schema => ({ type: 'integer', format: 'int64', ...(description ? { description } : {}) });
const centicents = (description?: string): Schema => int64(description ?? 'Integer centicents (1 USD = 10,000).');
const dateTime: Schema = { type: 'string', format: 'date-time' };
const fixedPointCount: Schema = {
  type: 'string',
  pattern: '^-?[0-9]+(\\.[0-9]+)?$',
  description: 'Fixed-point count string ("1.25", may be negative).',
};
/** A list Klear may send as `null` (treated as empty). */
const nullableList = (items: Schema): Schema => ({ type: ['array', 'null'], items });
/** A page cursor: absent, null or "" on the last page. */
const cursor: Schema = { type: ['string', 'null'], description: 'Pass back for the next page; absent, null or "" on the last page.' };
const object = (required: string[], properties: Record<string, Schema>, extra: Schema = {}): Schema => ({
  type: 'object',
  required,
  properties,
  // Klear adds fields over time: unknown fields are allowed (kept in the archive, reported as unmapped).
  additionalProperties: true,
  ...extra,
});
/** The fields that name a per-market row of a subtrader (settlement details, funding payments). */
const subtraderMarketRow: Record<string, Schema> = {
  id: { type: 'string', minLength: 1 },
  market_ticker: { type: 'string' },
  subtrader_id: { type: 'string' },
};
const SUBTRADER_MARKET_ROW_REQUIRED = Object.keys(subtraderMarketRow);
const mapOf = (values: Schema): Schema => ({ type: 'object', additionalProperties: values });

const settlementEstimate = object(
  [
    'variation_margin_centicents',
    'total_fees_centicents',
    'maintenance_margin_delta_centicents',
    'maintenance_margin_required_centicents',
    'total_amount_centicents',
  ],
  {
    variation_margin_centicents: centicents(),
    total_fees_centicents: centicents(),
    maintenance_margin_delta_centicents: centicents(),
    maintenance_margin_required_centicents: centicents(),
    total_amount_centicents: centicents(),
    positions: mapOf(ref('MarketSettlementEstimate')),
  },
);

const json = (schema: Schema, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const errors = {
  '400': json(ref('Error'), 'Bad request'),
  '401': json(ref('Error'), 'Unauthorized'),
  '403': json(ref('Error'), 'Forbidden'),
  '404': json(ref('Error'), 'Not found'),
  '500': json(ref('Error'), 'Internal error'),
};
const pageParams = (max: number) => [
  { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: max } },
  { name: 'cursor', in: 'query', required: false, schema: { type: 'string' } },
];
const obligationIdParam = { name: 'obligation_id', in: 'path', required: true, schema: { type: 'string' } };
const groupIdParam = { name: 'group_id', in: 'path', required: true, schema: { type: 'string' } };
const get = (operationId: string, response: Schema, parameters: unknown[] = []) => ({
  get: { operationId, parameters, responses: { '200': json(response), ...errors } },
});
const body = (schema: Schema) => ({ required: true, content: { 'application/json': { schema } } });

export const KLEAR_OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'Kalshi Clearing Member API (Klear), as the project speaks it',
    version: 'rev-2 (2026-12)',
    description:
      'Revision 2 of docs/klear-api-contract.md. Bearer authentication only: `Authorization: Bearer <admin_user_id>:<access_token>`.',
  },
  servers: [
    { url: 'https://api.klear.kalshi.com/klear-api/v1', description: 'Production' },
    { url: 'https://demo-api.kalshi.co/klear-api/v1', description: 'Demo' },
  ],
  security: [{ kalshiBearer: [] }],
  paths: {
    '/margin/reports': get('getMarginReports', ref('GetMarginReportsResponse'), [
      { name: 'start_date', in: 'query', required: true, schema: { type: 'string', format: 'date' } },
      { name: 'end_date', in: 'query', required: true, schema: { type: 'string', format: 'date' } },
    ]),
    '/margin/active_obligations': get('getActiveMarginObligations', ref('GetActiveMarginObligationsResponse')),
    '/margin/obligation_history': get('getObligationHistory', ref('GetObligationHistoryResponse'), pageParams(100)),
    '/margin/obligations/{obligation_id}/settlement_details': get(
      'getObligationSettlementDetails',
      ref('GetObligationSettlementDetailsResponse'),
      [obligationIdParam, ...pageParams(1000)],
    ),
    '/margin/obligations/{obligation_id}/maintenance_margin_details': get(
      'getObligationMaintenanceMarginDetails',
      ref('GetObligationMaintenanceMarginDetailsResponse'),
      [obligationIdParam, ...pageParams(1000)],
    ),
    '/margin/obligations/{obligation_id}/funding_payments': get(
      'getObligationFundingPayments',
      ref('GetObligationFundingPaymentsResponse'),
      [obligationIdParam, ...pageParams(1000)],
    ),
    '/margin/settlement_estimate_by_asset_class': get(
      'getSettlementEstimateByAssetClass',
      ref('GetSettlementEstimateByAssetClassResponse'),
    ),
    '/margin/settlement_prices': get('getSettlementPrices', ref('GetSettlementPricesResponse'), [
      { name: 'asset_class', in: 'query', required: true, schema: { type: 'string' } },
      { name: 'settlement_time', in: 'query', required: true, schema: dateTime },
    ]),
    '/margin/funding_payments': get('getMemberFundingPayments', ref('GetMemberFundingPaymentsResponse'), [
      { name: 'funding_time', in: 'query', required: true, schema: dateTime },
      { name: 'market_ticker', in: 'query', required: false, schema: { type: 'string' } },
      ...pageParams(10_000),
    ]),
    '/margin/settlement_balance': get('getSettlementBalance', ref('GetSettlementBalanceResponse')),
    '/margin/settlement_balance_history': get('getSettlementBalanceHistory', ref('GetSettlementBalanceHistoryResponse'), pageParams(500)),
    '/margin/withdraw_settlement_balance': {
      post: {
        operationId: 'withdrawSettlementBalance',
        requestBody: body(ref('WithdrawSettlementBalanceRequest')),
        responses: { '200': json(ref('WithdrawSettlementBalanceResponse')), ...errors },
      },
    },
    '/margin/settlement_balance_withdrawal': get('getSettlementBalanceWithdrawal', ref('GetSettlementBalanceWithdrawalResponse'), [
      { name: 'id', in: 'query', required: true, schema: { type: 'string' } },
    ]),
    '/margin/guaranty_fund_balance': get('getGuarantyFundBalance', ref('GetGuarantyFundBalanceResponse')),
    '/margin/large_trader_positions': get('getLargeTraderPositions', ref('GetLargeTraderPositionsResponse'), [
      { name: 'report_date', in: 'query', required: false, schema: { type: 'string', format: 'date' } },
    ]),
    '/margin/estimate_maintenance_margin': {
      post: {
        operationId: 'estimatePortfolioMaintenanceMargin',
        description: 'A what-if computation without side effects, but a POST: never retried blindly.',
        requestBody: body(ref('EstimatePortfolioMaintenanceMarginRequest')),
        responses: { '200': json(ref('EstimatePortfolioMaintenanceMarginResponse')), ...errors },
      },
    },
    '/fcm/margin/subtrader_groups': {
      ...get('getMarginSubtraderGroups', ref('GetMarginSubtraderGroupsResponse')),
      post: {
        operationId: 'createMarginSubtraderGroup',
        requestBody: body(ref('MarginSubtraderGroupRequest')),
        responses: { '200': json(ref('CreateMarginSubtraderGroupResponse')), ...errors },
      },
    },
    '/fcm/margin/subtrader_groups/{group_id}': {
      put: {
        operationId: 'updateMarginSubtraderGroup',
        parameters: [groupIdParam],
        requestBody: body(ref('MarginSubtraderGroupRequest')),
        responses: { '200': json(ref('EmptyResponse')), ...errors },
      },
      delete: {
        operationId: 'deleteMarginSubtraderGroup',
        parameters: [groupIdParam],
        responses: { '200': json(ref('EmptyResponse')), ...errors },
      },
    },
  },
  components: {
    securitySchemes: { kalshiBearer: { type: 'http', scheme: 'bearer', description: '<admin_user_id>:<access_token>' } },
    schemas: {
      Error: object(['code', 'message'], {
        code: { type: 'string' },
        message: { type: 'string' },
        details: { type: 'string' },
        service: { type: 'string' },
      }),
      EmptyResponse: object([], {}),
      AssetClass: {
        type: 'string',
        minLength: 1,
        description: '"Crypto" is the only value today; more will come (not an enum on purpose).',
      },
      MarginReport: object(['report_type', 'url', 'date', 'created_ts', 'is_end_of_day'], {
        report_type: {
          type: 'string',
          enum: ['trade_audit', 'position_snapshot', 'market_price_snapshot', 'funding_periods', 'settlement_periods'],
        },
        url: { type: 'string', minLength: 1, description: 'Presigned: a secret, never logged.' },
        date: { type: 'string', format: 'date' },
        created_ts: dateTime,
        is_end_of_day: { type: 'boolean' },
      }),
      GetMarginReportsResponse: object(['reports'], { reports: nullableList(ref('MarginReport')) }),
      ObligationReceiveInfo: object(['id', 'type', 'amount_centicents', 'external_reference', 'created_ts'], {
        id: { type: 'string', minLength: 1 },
        type: { type: 'string' },
        amount_centicents: centicents(),
        external_reference: { type: 'string' },
        created_ts: dateTime,
      }),
      SettlementDetail: object(
        [...SUBTRADER_MARKET_ROW_REQUIRED, 'position_quantity_fp', 'pnl_centicents', 'total_fees_centicents', 'total_amount_centicents'],
        {
          ...subtraderMarketRow,
          position_quantity_fp: fixedPointCount,
          pnl_centicents: centicents(),
          total_fees_centicents: centicents(),
          total_amount_centicents: centicents(),
        },
      ),
      MaintenanceMarginDetail: object(['id', 'subtrader_id', 'maintenance_margin_centicents', 'maintenance_margin_delta_centicents'], {
        id: { type: 'string', minLength: 1 },
        subtrader_id: { type: 'string', description: 'May be empty (a netted group row carries margin_group_id instead).' },
        maintenance_margin_centicents: centicents(),
        maintenance_margin_delta_centicents: centicents(),
        margin_group_id: { type: 'string', description: 'Set when the margin belongs to a netted subtrader group.' },
      }),
      FundingPaymentDetail: object(
        [
          ...SUBTRADER_MARKET_ROW_REQUIRED,
          'funding_time',
          'position_quantity_fp',
          'notional_value_centicents',
          'funding_amount_centicents',
        ],
        {
          ...subtraderMarketRow,
          funding_time: dateTime,
          position_quantity_fp: fixedPointCount,
          notional_value_centicents: centicents(),
          funding_amount_centicents: centicents('Signed: negative = the subtrader pays.'),
        },
      ),
      ObligationEntry: object(
        [
          'id',
          'user_id',
          'amount_centicents',
          'fees_centicents',
          'maintenance_margin_centicents',
          'pnl_centicents',
          'execution_time',
          'last_updated_ts',
          'asset_class',
          'receives',
          'settlement_details',
          'maintenance_margin_details',
          'funding_payments',
        ],
        {
          id: { type: 'string', minLength: 1 },
          user_id: { type: 'string' },
          amount_centicents: centicents('Negative = the member pays Klear.'),
          fees_centicents: centicents(),
          maintenance_margin_centicents: centicents(),
          pnl_centicents: centicents(),
          execution_time: dateTime,
          last_updated_ts: dateTime,
          asset_class: ref('AssetClass'),
          receives: nullableList(ref('ObligationReceiveInfo')),
          settlement_details: nullableList(ref('SettlementDetail')),
          maintenance_margin_details: nullableList(ref('MaintenanceMarginDetail')),
          funding_payments: nullableList(ref('FundingPaymentDetail')),
          settlement_details_truncated: { type: 'boolean' },
          maintenance_margin_details_truncated: { type: 'boolean' },
          funding_payments_truncated: { type: 'boolean' },
        },
        { description: 'Inline lists hold at most 1,000 rows; a *_truncated flag says the paged endpoint holds the complete list.' },
      ),
      GetActiveMarginObligationsResponse: object(['obligations'], { obligations: nullableList(ref('ObligationEntry')) }),
      GetObligationHistoryResponse: object(['obligations'], { obligations: nullableList(ref('ObligationEntry')), cursor }),
      GetObligationSettlementDetailsResponse: object(['settlement_details'], {
        settlement_details: nullableList(ref('SettlementDetail')),
        cursor,
      }),
      GetObligationMaintenanceMarginDetailsResponse: object(['maintenance_margin_details'], {
        maintenance_margin_details: nullableList(ref('MaintenanceMarginDetail')),
        cursor,
      }),
      GetObligationFundingPaymentsResponse: object(['funding_payments'], {
        funding_payments: nullableList(ref('FundingPaymentDetail')),
        cursor,
      }),
      MarketSettlementEstimate: object(['quantity_centicount', 'variation_margin_centicents', 'notional_value_centicents'], {
        quantity_centicount: int64(),
        variation_margin_centicents: centicents(),
        notional_value_centicents: centicents(),
      }),
      SettlementEstimate: settlementEstimate,
      AssetClassSettlementEstimate: object(['next_runtime'], {
        next_runtime: { ...dateTime, description: 'The next settlement cycle of this asset class.' },
        user_breakdown: ref('SettlementEstimate'),
        subtrader_breakdowns: mapOf(ref('SettlementEstimate')),
        group_breakdowns: mapOf(ref('SettlementEstimate')),
        prev_settlement_prices: mapOf(centicents()),
        omitted_subtrader_count: { type: 'integer', minimum: 0 },
        omitted_group_count: { type: 'integer', minimum: 0 },
      }),
      GetSettlementEstimateByAssetClassResponse: object(['estimates', 'settlement_balance_centicents'], {
        estimates: mapOf(ref('AssetClassSettlementEstimate')),
        settlement_balance_centicents: centicents(),
      }),
      GetSettlementPricesResponse: object(['settlement_prices'], {
        settlement_prices: {
          ...mapOf(centicents()),
          description: 'market_ticker -> settlement (mark) price; empty when no settlement ran then.',
        },
      }),
      MemberFundingPayment: object(
        ['market_ticker', 'subtrader_id', 'funding_time', 'position_quantity_fp', 'notional_value_centicents', 'funding_amount_centicents'],
        {
          market_ticker: { type: 'string' },
          subtrader_id: { type: 'string' },
          funding_time: dateTime,
          position_quantity_fp: fixedPointCount,
          notional_value_centicents: centicents(),
          funding_amount_centicents: centicents(),
        },
      ),
      GetMemberFundingPaymentsResponse: object(['payments'], { payments: nullableList(ref('MemberFundingPayment')), cursor }),
      GetSettlementBalanceResponse: object(['user_id', 'balance_available_centicents'], {
        user_id: { type: 'string' },
        balance_available_centicents: centicents(),
        locked_balance_centicents: centicents(),
      }),
      SettlementBalanceHistoryEntry: object(
        ['balance_delta_centicents', 'locked_balance_delta_centicents', 'reason', 'business_transaction_id', 'created_ts'],
        {
          balance_delta_centicents: centicents(),
          locked_balance_delta_centicents: centicents(),
          reason: { type: 'string' },
          business_transaction_id: { type: 'string' },
          created_ts: dateTime,
        },
      ),
      GetSettlementBalanceHistoryResponse: object(['entries'], { entries: nullableList(ref('SettlementBalanceHistoryEntry')), cursor }),
      WithdrawSettlementBalanceRequest: object(['amount'], { amount: { type: 'string', pattern: '^[0-9]+\\.[0-9]{2}$' } }),
      WithdrawSettlementBalanceResponse: object(['id'], { id: { type: 'string', minLength: 1 } }),
      GetSettlementBalanceWithdrawalResponse: object(['id', 'amount', 'status', 'created_ts'], {
        id: { type: 'string', minLength: 1 },
        amount: { type: 'string', pattern: '^[0-9]+\\.[0-9]{2}$' },
        status: { type: 'string', enum: ['pending', 'processing', 'processed', 'failed'] },
        created_ts: dateTime,
      }),
      GetGuarantyFundBalanceResponse: object(['user_id', 'amount_centicents', 'updated_ts'], {
        user_id: { type: 'string' },
        amount_centicents: centicents(),
        updated_ts: dateTime,
      }),
      LargeTraderPosition: object(['market_ticker', 'position'], {
        market_ticker: { type: 'string' },
        position: int64('Signed contract count.'),
      }),
      GetLargeTraderPositionsResponse: object(['user_id', 'report_date', 'positions'], {
        user_id: { type: 'string' },
        report_date: { type: 'string', format: 'date' },
        positions: nullableList(ref('LargeTraderPosition')),
      }),
      MarginSubtraderGroup: object(['group_id', 'member_subtrader_ids'], {
        group_id: { type: 'string', minLength: 1 },
        member_subtrader_ids: nullableList({ type: 'string' }),
      }),
      GetMarginSubtraderGroupsResponse: object(['groups'], { groups: nullableList(ref('MarginSubtraderGroup')) }),
      MarginSubtraderGroupRequest: object(['subtrader_ids'], {
        subtrader_ids: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
      }),
      CreateMarginSubtraderGroupResponse: object(['group_id'], { group_id: { type: 'string', minLength: 1 } }),
      EstimatePortfolioMaintenanceMarginPosition: object(['market_ticker', 'quantity', 'price'], {
        market_ticker: { type: 'string', minLength: 1 },
        quantity: int64('Signed contracts, non-zero.'),
        price: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?$', description: 'USD fixed-point price.' },
      }),
      EstimatePortfolioMaintenanceMarginRequest: object(['asset_class', 'positions'], {
        asset_class: ref('AssetClass'),
        positions: { type: 'array', items: ref('EstimatePortfolioMaintenanceMarginPosition') },
        date: { type: 'string', format: 'date' },
        clearing_type: { type: 'string' },
      }),
      EstimatePortfolioMaintenanceMarginResponse: object([], {
        maintenance_margin_fp: { type: 'string', pattern: '^-?[0-9]+(\\.[0-9]+)?$', description: 'USD fixed-point maintenance margin.' },
      }),
    },
  },
} as const;

export type KlearOpenApi = typeof KLEAR_OPENAPI;
