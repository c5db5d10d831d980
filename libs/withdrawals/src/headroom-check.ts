import { centicentsToDecimalString, sumCenticents } from '@app/money';

/** The figures a headroom decision rests on; every amount in centicents. */
export interface HeadroomInputs {
  amount: bigint;
  /** Klear's `balance_available_centicents` from a fresh balance read. */
  available: bigint;
  locked: bigint;
  balancePulledAt: Date;
  /** 'klear': read just now for this decision; 'snapshot': the stored snapshot was fresh enough. */
  balanceSource: 'klear' | 'snapshot';
  /** Other requests of this product that will leave the buffer but are not locked at Klear yet. */
  notYetLocked: bigint;
  notYetLockedRequestIds: string[];
  /** What the member pays Klear for the active cycle: the sum over asset classes of each payable obligation. */
  activeObligationPayable: bigint;
  activeObligationId: string | null;
  /** Each active obligation: its asset class, id, signed amount and what it reserves. */
  activeObligations?: Array<{ assetClass: string; id: string; amount: bigint; payable: bigint }>;
  /** What the latest intraday estimate says the member will pay: the sum of each asset class's payable estimate. */
  estimatePayable: bigint;
  estimatePulledAt: Date | null;
  /** Each asset class's estimate: its signed total and what it reserves. */
  estimates?: Array<{ assetClass: string; amount: bigint; payable: bigint }>;
  reserveFloor: bigint;
}

export interface HeadroomResult {
  ok: boolean;
  headroom: bigint;
  reserve: bigint;
  /** Every figure of `available - not_yet_locked - reserve >= amount`, as the 422 and the audit show them. */
  figures: Record<string, unknown>;
}

/** Only a payable (negative, member-pays) amount needs reserving; a receivable reserves nothing. */
export function payableOf(signedAmount: bigint | null | undefined): bigint {
  return signedAmount !== null && signedAmount !== undefined && signedAmount < 0n ? -signedAmount : 0n;
}

/** `available - notYetLocked - reserve >= amount`, exactly (the boundary passes). */
export function checkHeadroom(input: HeadroomInputs): HeadroomResult {
  const reserve = sumCenticents([input.activeObligationPayable, input.estimatePayable, input.reserveFloor]);
  const headroom = input.available - input.notYetLocked - reserve;
  const ok = headroom >= input.amount;
  const s = centicentsToDecimalString;
  return {
    ok,
    headroom,
    reserve,
    figures: {
      formula: 'available - not_yet_locked_withdrawals - reserve >= amount',
      amount_centicents: s(input.amount),
      available_centicents: s(input.available),
      not_yet_locked_withdrawals_centicents: s(input.notYetLocked),
      not_yet_locked_withdrawal_ids: input.notYetLockedRequestIds,
      reserve_centicents: s(reserve),
      reserve_active_obligation_payable_centicents: s(input.activeObligationPayable),
      reserve_estimate_payable_centicents: s(input.estimatePayable),
      reserve_floor_centicents: s(input.reserveFloor),
      headroom_centicents: s(headroom),
      shortfall_centicents: s(ok ? 0n : input.amount - headroom),
      locked_centicents: s(input.locked),
      active_obligation_id: input.activeObligationId,
      active_obligations: (input.activeObligations ?? []).map((o) => ({
        asset_class: o.assetClass,
        id: o.id,
        amount_centicents: s(o.amount),
        payable_centicents: s(o.payable),
      })),
      estimates_by_asset_class: (input.estimates ?? []).map((e) => ({
        asset_class: e.assetClass,
        total_amount_centicents: s(e.amount),
        payable_centicents: s(e.payable),
      })),
      balance_pulled_at: input.balancePulledAt.toISOString(),
      balance_source: input.balanceSource,
      estimate_pulled_at: input.estimatePulledAt?.toISOString() ?? null,
    },
  };
}
