import type { z } from 'zod';
import {
  activeObligationResponseSchema,
  guarantyFundBalanceResponseSchema,
  largeTraderPositionsResponseSchema,
  logInResponseSchema,
  marginReportsResponseSchema,
  obligationHistoryResponseSchema,
  settlementBalanceHistoryResponseSchema,
  settlementBalanceResponseSchema,
  settlementEstimateByAssetClassResponseSchema,
  settlementEstimateResponseSchema,
  withdrawalCreatedResponseSchema,
  withdrawalSchema,
} from './schemas';

/** Rate limits are counted per kind: reads and writes have separate budgets per tier. */
export type KlearEndpointKind = 'read' | 'write';

export interface KlearEndpoint {
  method: 'GET' | 'POST';
  /** Relative to the base URL (`.../klear-api/v1`). */
  path: string;
  kind: KlearEndpointKind;
  responseSchema: z.ZodType;
}

export const ENDPOINTS = {
  logIn: { method: 'POST', path: '/log_in', kind: 'write', responseSchema: logInResponseSchema },
  marginReports: { method: 'GET', path: '/margin/reports', kind: 'read', responseSchema: marginReportsResponseSchema },
  activeObligation: {
    method: 'GET',
    path: '/margin/active_obligation',
    kind: 'read',
    responseSchema: activeObligationResponseSchema,
  },
  obligationHistory: {
    method: 'GET',
    path: '/margin/obligation_history',
    kind: 'read',
    responseSchema: obligationHistoryResponseSchema,
  },
  settlementEstimate: {
    method: 'GET',
    path: '/margin/settlement_estimate',
    kind: 'read',
    responseSchema: settlementEstimateResponseSchema,
  },
  settlementEstimateByAssetClass: {
    method: 'GET',
    path: '/margin/settlement_estimate_by_asset_class',
    kind: 'read',
    responseSchema: settlementEstimateByAssetClassResponseSchema,
  },
  settlementBalance: {
    method: 'GET',
    path: '/margin/settlement_balance',
    kind: 'read',
    responseSchema: settlementBalanceResponseSchema,
  },
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

/** Finds the endpoint a method and path (relative to the base URL) belong to. */
export function findEndpoint(method: string, path: string): { name: KlearEndpointName; endpoint: KlearEndpoint } | undefined {
  for (const [name, endpoint] of Object.entries(ENDPOINTS) as [KlearEndpointName, KlearEndpoint][]) {
    if (endpoint.method === method && endpoint.path === path) return { name, endpoint };
  }
  return undefined;
}
