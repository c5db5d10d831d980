import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ObligationEntry, SettlementBalanceHistoryEntry } from '@app/klear-contract';
import { FIRST_DISCREPANCY_KINDS, SimulatorWorld, walkPages } from './simulator-world';

interface FeedEntry {
  external_id: string;
  entry_type: string;
  effective_at: string;
  cycle?: string;
  subtrader_id?: string;
  business_reference?: string;
  postings: { account: string; market_ticker?: string; amount_centicents: string }[];
}
interface ExpectedBreak {
  key: string;
  check: string;
  cycle: string;
  reason_code: string;
  klear_value: string | null;
  internal_value: string | null;
  difference: string;
  fees_difference?: string;
}
interface Feed {
  cycles: string[];
  entries: FeedEntry[];
  answer_key: {
    discrepancies: { kind: string; cycle: string; subtrader_id?: string; market_ticker?: string; business_reference?: string }[];
    breaks: ExpectedBreak[];
  };
}

/** Internal totals per `cycle/subtrader/market`, recomputed from the feed's postings (ledger doc rules). */
function internalTotals(entries: FeedEntry[]): Map<string, bigint> {
  const totals = new Map<string, bigint>();
  for (const entry of entries) {
    for (const posting of entry.postings) {
      if (posting.account !== 'trading_pnl' && posting.account !== 'trading_fees') continue;
      const key = `${entry.cycle}/${entry.subtrader_id}/${posting.market_ticker}`;
      // total = pnl - fees, and a fee is posted negated: both postings simply add up.
      totals.set(key, (totals.get(key) ?? 0n) + BigInt(posting.amount_centicents));
    }
  }
  return totals;
}

describe('Klear simulator ledger feed and answer key', () => {
  let harness: SimulatorWorld;
  let obligations: ObligationEntry[];
  beforeAll(async () => {
    harness = await SimulatorWorld.start({ seed: 61, subtraders: 10, markets: 6, days: 6 });
    obligations = (await walkPages<ObligationEntry>(harness, '/margin/obligation_history', 'obligations', 100)).items;
  });
  afterAll(() => harness.close());

  const feed = (body: unknown): Promise<Feed> => harness.admin('POST', '/ledger-feed', body);

  it('books exactly what Klear holds when no discrepancy is injected', async () => {
    const clean = await feed({});
    expect(clean.cycles).toHaveLength(6);
    expect(clean.answer_key.breaks).toEqual([]);
    for (const entry of clean.entries) {
      expect(entry.postings.reduce((sum, p) => sum + BigInt(p.amount_centicents), 0n)).toBe(0n);
    }
    const csv: string = await harness.admin('POST', '/ledger-feed', { format: 'csv' });
    const lines = csv.trim().split('\n');
    expect(lines[0]).toBe(
      'external_id,entry_type,effective_at,cycle,subtrader_id,business_reference,description,reverses_external_id,account,market_ticker,amount_centicents',
    );
    expect(lines).toHaveLength(1 + clean.entries.reduce((n, e) => n + e.postings.length, 0));
  });

  it('injects every discrepancy kind and lists exactly the settlement-detail differences a client can recompute', async () => {
    const from = obligations[2].execution_time;
    const result = await feed({ from, discrepancies: FIRST_DISCREPANCY_KINDS.map((kind) => ({ kind })) });
    expect(result.cycles).toEqual(
      obligations
        .slice(0, 3)
        .map((o) => o.execution_time)
        .reverse(),
    );

    const internal = internalTotals(result.entries);
    const observed = new Map<string, bigint>();
    for (const obligation of obligations.filter((o) => result.cycles.includes(o.execution_time))) {
      for (const detail of obligation.settlement_details) {
        const key = `${obligation.execution_time}/${detail.subtrader_id}/${detail.market_ticker}`;
        const difference = detail.total_amount_centicents - (internal.get(key) ?? 0n);
        if (difference !== 0n || !internal.has(key)) observed.set(key, difference);
        internal.delete(key);
      }
    }
    for (const [key, total] of internal) observed.set(key, -total); // rows Klear does not have
    const expected = new Map(
      result.answer_key.breaks
        .filter((b) => b.check === 'settlement_details' && BigInt(b.difference) !== 0n)
        .map((b) => [b.key.slice('settlement_details/'.length), BigInt(b.difference)]),
    );
    // Rows with a zero total difference (pnl and fees both doubled to zero, or an equal shift) are still breaks
    // in the key but invisible in totals; compare the non-zero ones.
    const observedNonZero = new Map([...observed].filter(([, d]) => d !== 0n));
    expect(observedNonZero).toEqual(expected);
  });

  it('gives each injected discrepancy the reason code of the break rules', async () => {
    const result = await feed({ discrepancies: FIRST_DISCREPANCY_KINDS.map((kind) => ({ kind })) });
    const { breaks, discrepancies } = result.answer_key;
    const byKind = new Map(discrepancies.map((d) => [d.kind, d]));
    const reasonsFor = (prefix: string) => new Set(breaks.filter((b) => b.key.startsWith(prefix)).map((b) => b.reason_code));
    const detailKey = (kind: string) => {
      const d = byKind.get(kind)!;
      return `settlement_details/${d.cycle}/${d.subtrader_id}/${d.market_ticker ?? ''}`;
    };
    const missingFee = breaks.find((b) => b.key === detailKey('missing_fee'))!;
    expect(missingFee.reason_code).toBe('amount_mismatch');
    // Klear charged the fee, the books did not: fees differ by +fee, the total by -fee.
    expect(BigInt(missingFee.fees_difference!) > 0n).toBe(true);
    expect(BigInt(missingFee.difference)).toBe(-BigInt(missingFee.fees_difference!));
    expect(breaks.find((b) => b.key === detailKey('pnl_off_by_one'))).toMatchObject({ reason_code: 'amount_mismatch', difference: '-1' });
    expect(breaks.find((b) => b.key === detailKey('missing_market_row'))).toMatchObject({
      reason_code: 'missing_internal',
      internal_value: null,
    });
    expect(breaks.find((b) => b.key === detailKey('extra_market_row'))).toMatchObject({ reason_code: 'missing_klear', klear_value: null });
    const unknown = byKind.get('unknown_subtrader')!;
    expect(reasonsFor(`settlement_details/${unknown.cycle}/${unknown.subtrader_id}/`)).toEqual(new Set(['unknown_subtrader']));
    expect(reasonsFor(`maintenance_margin/${unknown.cycle}/${unknown.subtrader_id}`)).toEqual(new Set(['unknown_subtrader']));
    const duplicated = byKind.get('duplicated_entry')!;
    expect(reasonsFor(`settlement_details/${duplicated.cycle}/${duplicated.subtrader_id}/`)).toEqual(new Set(['duplicate']));
    const margin = byKind.get('wrong_margin')!;
    expect(breaks.find((b) => b.key === `maintenance_margin/${margin.cycle}/${margin.subtrader_id}`)).toMatchObject({
      reason_code: 'amount_mismatch',
      difference: '-10000',
    });
  });

  it('turns a missing buffer movement into a missing_internal break and a running-balance break on that day and every later one', async () => {
    const result = await feed({ discrepancies: [{ kind: 'missing_buffer_movement', cycle: obligations[3].execution_time }] });
    const movement = result.answer_key.discrepancies[0];
    const { items: history } = await walkPages<SettlementBalanceHistoryEntry>(
      harness,
      '/margin/settlement_balance_history',
      'entries',
      500,
    );
    const klearMovement = history.find((e) => e.business_transaction_id === movement.business_reference)!;
    expect(result.entries.some((e) => e.business_reference === movement.business_reference)).toBe(false);
    const buffer = result.answer_key.breaks.filter((b) => b.check === 'settlement_buffer');
    expect(buffer.find((b) => b.key === `settlement_buffer/${movement.business_reference}`)).toMatchObject({
      reason_code: 'missing_internal',
      cycle: obligations[3].execution_time,
      difference: klearMovement.balance_delta_centicents.toString(),
    });
    const running = buffer.filter((b) => b.reason_code === 'balance_mismatch');
    expect(running.map((b) => b.cycle)).toEqual(
      obligations
        .slice(0, 4)
        .map((o) => o.execution_time)
        .reverse(),
    );
    expect(new Set(running.map((b) => b.difference))).toEqual(new Set([klearMovement.balance_delta_centicents.toString()]));
  });

  it('keeps every subtrader explainable: its breaks add up to the difference of its totals', async () => {
    const result = await feed({ discrepancies: FIRST_DISCREPANCY_KINDS.map((kind) => ({ kind })) });
    const internal = internalTotals(result.entries);
    const perSubtrader = new Map<string, bigint>();
    for (const [key, total] of internal) {
      const subtraderKey = key.split('/').slice(0, 2).join('/');
      perSubtrader.set(subtraderKey, (perSubtrader.get(subtraderKey) ?? 0n) - total);
    }
    for (const obligation of obligations.filter((o) => result.cycles.includes(o.execution_time))) {
      for (const detail of obligation.settlement_details) {
        const key = `${obligation.execution_time}/${detail.subtrader_id}`;
        perSubtrader.set(key, (perSubtrader.get(key) ?? 0n) + detail.total_amount_centicents);
      }
    }
    const breakSums = new Map<string, bigint>();
    for (const b of result.answer_key.breaks.filter((x) => x.check === 'settlement_details')) {
      const key = b.key.split('/').slice(1, 3).join('/');
      breakSums.set(key, (breakSums.get(key) ?? 0n) + BigInt(b.difference));
    }
    for (const [key, difference] of perSubtrader) expect({ key, sum: breakSums.get(key) ?? 0n }).toEqual({ key, sum: difference });
  });
});
