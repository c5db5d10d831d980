import { describe, expect, it } from '@jest/globals';
import { parseKlearJson } from './json';
import {
  obligationEntrySchema,
  obligationHistoryResponseSchema,
  settlementEstimateByAssetClassResponseSchema,
  withdrawalSchema,
} from './schemas';

const obligation = {
  id: 'obl-1',
  user_id: 'u',
  amount_centicents: -9007199254740993n,
  fees_centicents: 5n,
  maintenance_margin_centicents: 10n,
  pnl_centicents: 0n,
  execution_time: '2026-11-19T22:00:00Z',
  last_updated_ts: '2026-11-19T23:00:00.123Z',
  asset_class: 'Crypto',
  receives: [],
  settlement_details: [
    {
      id: 'sd',
      market_ticker: 'M',
      subtrader_id: 'S',
      position_quantity_fp: '-1.25',
      pnl_centicents: 0n,
      total_fees_centicents: 5n,
      total_amount_centicents: -5n,
    },
  ],
  maintenance_margin_details: [{ id: 'mm', subtrader_id: '', maintenance_margin_centicents: 10n, maintenance_margin_delta_centicents: 1n }],
  funding_payments: null,
};

describe('Klear contract schemas', () => {
  it('accepts an obligation with an int64 amount and an empty maintenance-margin subtrader id', () => {
    expect(obligationEntrySchema.parse(obligation).amount_centicents).toBe(-9007199254740993n);
  });

  it('rejects a missing field, a number where bigint is due, and a bad timestamp', () => {
    const { fees_centicents: _dropped, ...missing } = obligation;
    expect(obligationEntrySchema.safeParse(missing).success).toBe(false);
    expect(obligationEntrySchema.safeParse({ ...obligation, pnl_centicents: 0 }).success).toBe(false);
    expect(obligationEntrySchema.safeParse({ ...obligation, execution_time: '2026-11-19' }).success).toBe(false);
  });

  it('reads withdrawal amounts only as positive two-decimal USD strings', () => {
    const base = { id: 'w', status: 'pending', created_ts: '2026-11-20T21:00:00Z' };
    expect(withdrawalSchema.safeParse({ ...base, amount: '500.00' }).success).toBe(true);
    for (const amount of ['500', '500.0', '0.00', '-1.00', 500]) {
      expect(withdrawalSchema.safeParse({ ...base, amount }).success).toBe(false);
    }
  });

  it('exposes the omitted counts of the by-asset-class estimate as numbers, with next_runtime required', () => {
    const estimate =
      '{"variation_margin_centicents":1,"total_fees_centicents":0,"maintenance_margin_delta_centicents":0,"maintenance_margin_required_centicents":3,"total_amount_centicents":1}';
    const body = `{"estimates":{"Crypto":{"next_runtime":"2026-12-02T22:00:00Z","user_breakdown":${estimate},"omitted_subtrader_count":7,"omitted_group_count":0}},"settlement_balance_centicents":10}`;
    const parsed = settlementEstimateByAssetClassResponseSchema.parse(parseKlearJson(body));
    expect(parsed.estimates.Crypto.omitted_subtrader_count).toBe(7);
    expect(parsed.estimates.Crypto.next_runtime).toBe('2026-12-02T22:00:00Z');
    // Only next_runtime is required; the counts and breakdowns may be left out.
    expect(
      settlementEstimateByAssetClassResponseSchema.parse(
        parseKlearJson('{"estimates":{"Crypto":{"next_runtime":"2026-12-02T22:00:00Z"}},"settlement_balance_centicents":0}'),
      ).estimates.Crypto.omitted_subtrader_count,
    ).toBeUndefined();
    expect(
      settlementEstimateByAssetClassResponseSchema.safeParse(
        parseKlearJson(`{"estimates":{"Crypto":{"user_breakdown":${estimate}}},"settlement_balance_centicents":0}`),
      ).success,
    ).toBe(false);
  });

  it('reads null lists as empty and an empty last cursor as absent', () => {
    const parsed = obligationEntrySchema.parse({ ...obligation, receives: null, maintenance_margin_details: null });
    expect(parsed.receives).toEqual([]);
    expect(parsed.maintenance_margin_details).toEqual([]);
    expect(parsed.funding_payments).toEqual([]);
    expect(obligationHistoryResponseSchema.parse({ obligations: null, cursor: '' })).toEqual({ obligations: [], cursor: undefined });
    expect(obligationHistoryResponseSchema.parse({ obligations: [], cursor: null }).cursor).toBeUndefined();
    expect(obligationHistoryResponseSchema.parse({ obligations: [], cursor: '2026-11-19T22:00:00Z' }).cursor).toBe('2026-11-19T22:00:00Z');
  });

  it('requires asset_class on an obligation and keeps position quantities exact as text', () => {
    const { asset_class: _dropped, ...withoutClass } = obligation;
    expect(obligationEntrySchema.safeParse(withoutClass).success).toBe(false);
    expect(obligationEntrySchema.parse(obligation).settlement_details[0].position_quantity_fp).toBe('-1.25');
    const floatQuantity = { ...obligation, settlement_details: [{ ...obligation.settlement_details[0], position_quantity_fp: 1.25 }] };
    expect(obligationEntrySchema.safeParse(floatQuantity).success).toBe(false);
  });
});
