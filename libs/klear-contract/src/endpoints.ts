import type { z } from 'zod';
import {
  activeObligationsResponseSchema,
  createMarginSubtraderGroupResponseSchema,
  emptyResponseSchema,
  estimateMaintenanceMarginResponseSchema,
  guarantyFundBalanceResponseSchema,
  largeTraderPositionsResponseSchema,
  logInResponseSchema,
  marginReportsResponseSchema,
  marginSubtraderGroupsResponseSchema,
  memberFundingPaymentsResponseSchema,
  obligationFundingPaymentsResponseSchema,
  obligationHistoryResponseSchema,
  obligationMaintenanceMarginDetailsResponseSchema,
  obligationSettlementDetailsResponseSchema,
  settlementBalanceHistoryResponseSchema,
  settlementBalanceResponseSchema,
  settlementEstimateByAssetClassResponseSchema,
  settlementPricesResponseSchema,
  withdrawalCreatedResponseSchema,
  withdrawalSchema,
} from './schemas';

/** Rate limits are counted per kind: reads and writes have separate budgets per tier. */
export type KlearEndpointKind = 'read' | 'write';

export interface KlearEndpoint {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Relative to the base URL (`.../klear-api/v1`); `{name}` marks a path parameter. */
  path: string;
  kind: KlearEndpointKind;
  responseSchema: z.ZodType;
  /** Removed upstream; kept only behind an explicit legacy switch (not in the OpenAPI document). */
  legacy?: true;
}

/**
 * Every endpoint of the live API (revision 2), plus the legacy session login. The OpenAPI document
 * (./openapi.ts) is the contract; openapi-agreement.spec.ts fails when these schemas disagree with it.
 */
export const ENDPOINTS = {
  logIn: { method: 'POST', path: '/log_in', kind: 'write', responseSchema: logInResponseSchema, legacy: true },
  marginReports: { method: 'GET', path: '/margin/reports', kind: 'read', responseSchema: marginReportsResponseSchema },
  activeObligations: { method: 'GET', path: '/margin/active_obligations', kind: 'read', responseSchema: activeObligationsResponseSchema },
  obligationHistory: { method: 'GET', path: '/margin/obligation_history', kind: 'read', responseSchema: obligationHistoryResponseSchema },
  obligationSettlementDetails: {
    method: 'GET',
    path: '/margin/obligations/{obligation_id}/settlement_details',
    kind: 'read',
    responseSchema: obligationSettlementDetailsResponseSchema,
  },
  obligationMaintenanceMarginDetails: {
    method: 'GET',
    path: '/margin/obligations/{obligation_id}/maintenance_margin_details',
    kind: 'read',
    responseSchema: obligationMaintenanceMarginDetailsResponseSchema,
  },
  obligationFundingPayments: {
    method: 'GET',
    path: '/margin/obligations/{obligation_id}/funding_payments',
    kind: 'read',
    responseSchema: obligationFundingPaymentsResponseSchema,
  },
  settlementEstimateByAssetClass: {
    method: 'GET',
    path: '/margin/settlement_estimate_by_asset_class',
    kind: 'read',
    responseSchema: settlementEstimateByAssetClassResponseSchema,
  },
  settlementPrices: { method: 'GET', path: '/margin/settlement_prices', kind: 'read', responseSchema: settlementPricesResponseSchema },
  memberFundingPayments: {
    method: 'GET',
    path: '/margin/funding_payments',
    kind: 'read',
    responseSchema: memberFundingPaymentsResponseSchema,
  },
  settlementBalance: { method: 'GET', path: '/margin/settlement_balance', kind: 'read', responseSchema: settlementBalanceResponseSchema },
  settlementBalanceHistory: {
    method: 'GET',
    path: '/margin/settlement_balance_history',
    kind: 'read',
    responseSchema: settlementBalanceHistoryResponseSchema,
  },
  withdrawSettlementBalance: {
    method: 'POST',
    path: '/margin/withdraw_settlement_balance',
    kind: 'write',
    responseSchema: withdrawalCreatedResponseSchema,
  },
  settlementBalanceWithdrawal: {
    method: 'GET',
    path: '/margin/settlement_balance_withdrawal',
    kind: 'read',
    responseSchema: withdrawalSchema,
  },
  guarantyFundBalance: {
    method: 'GET',
    path: '/margin/guaranty_fund_balance',
    kind: 'read',
    responseSchema: guarantyFundBalanceResponseSchema,
  },
  largeTraderPositions: {
    method: 'GET',
    path: '/margin/large_trader_positions',
    kind: 'read',
    responseSchema: largeTraderPositionsResponseSchema,
  },
  estimateMaintenanceMargin: {
    method: 'POST',
    path: '/margin/estimate_maintenance_margin',
    // A read in effect, but a POST: counted as a write and never retried unless the caller says so.
    kind: 'write',
    responseSchema: estimateMaintenanceMarginResponseSchema,
  },
  subtraderGroups: {
    method: 'GET',
    path: '/fcm/margin/subtrader_groups',
    kind: 'read',
    responseSchema: marginSubtraderGroupsResponseSchema,
  },
  createSubtraderGroup: {
    method: 'POST',
    path: '/fcm/margin/subtrader_groups',
    kind: 'write',
    responseSchema: createMarginSubtraderGroupResponseSchema,
  },
  updateSubtraderGroup: {
    method: 'PUT',
    path: '/fcm/margin/subtrader_groups/{group_id}',
    kind: 'write',
    responseSchema: emptyResponseSchema,
  },
  deleteSubtraderGroup: {
    method: 'DELETE',
    path: '/fcm/margin/subtrader_groups/{group_id}',
    kind: 'write',
    responseSchema: emptyResponseSchema,
  },
} as const satisfies Record<string, KlearEndpoint>;

export type KlearEndpointName = keyof typeof ENDPOINTS;

/** Requests per second per tier, from Klear's published limits. */
export const RATE_LIMIT_TIERS = {
  basic: { read: 20, write: 10 },
  advanced: { read: 30, write: 30 },
  premier: { read: 100, write: 100 },
  prime: { read: 400, write: 400 },
} as const satisfies Record<string, Record<KlearEndpointKind, number>>;

export type RateLimitTier = keyof typeof RATE_LIMIT_TIERS;

export const KLEAR_API_BASE_PATH = '/klear-api/v1';

const PATH_PARAM = /\{([a-z_]+)\}/g;

/** The concrete path of an endpoint: each `{name}` replaced by its URI-encoded value. */
export function endpointPath(name: KlearEndpointName, pathParams: Record<string, string> = {}): string {
  return ENDPOINTS[name].path.replace(PATH_PARAM, (_, param: string) => {
    const value = pathParams[param];
    if (value === undefined || value === '') throw new RangeError(`${name}: path parameter ${param} is required`);
    return encodeURIComponent(value);
  });
}

/**
 * Finds the endpoint a method and concrete path (relative to the base URL) belong to, with its
 * path parameters decoded.
 */
export function findEndpoint(
  method: string,
  path: string,
): { name: KlearEndpointName; endpoint: KlearEndpoint; pathParams: Record<string, string> } | undefined {
  for (const [name, endpoint] of Object.entries(ENDPOINTS) as [KlearEndpointName, KlearEndpoint][]) {
    if (endpoint.method !== method) continue;
    if (!endpoint.path.includes('{')) {
      if (endpoint.path === path) return { name, endpoint, pathParams: {} };
      continue;
    }
    const names: string[] = [];
    const pattern = new RegExp(`^${endpoint.path.replace(PATH_PARAM, (_, param: string) => (names.push(param), '([^/]+)'))}$`);
    const match = pattern.exec(path);
    if (match === null) continue;
    const pathParams: Record<string, string> = {};
    try {
      names.forEach((param, i) => (pathParams[param] = decodeURIComponent(match[i + 1])));
    } catch {
      return undefined;
    }
    return { name, endpoint, pathParams };
  }
  return undefined;
}
