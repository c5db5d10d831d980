import type { SimulatorState } from './state';

/** One settlement-buffer movement, as the balance history shows it. */
export interface BalanceEvent {
  atMs: number;
  /** Total order key (ascending = chronological); also the balance-history cursor. */
  sortKey: string;
  balanceDelta: bigint;
  lockedDelta: bigint;
  reason: string;
  businessTransactionId: string;
}

// Ties on the same instant (a frozen clock) are ordered by kind, then by sequence.
const KIND_ORDER = { deposit: 0, settlement: 1, adjustment: 2, withdrawalLock: 3, withdrawalFinal: 4 } as const;

function sortKey(atMs: number, kind: keyof typeof KIND_ORDER, seq: number): string {
  return `${String(atMs).padStart(15, '0')}.${KIND_ORDER[kind]}.${String(seq).padStart(9, '0')}`;
}

/**
 * Every buffer movement visible at `now`, oldest first: the initial deposit, each cycle's payment or
 * receipt, late corrections and injected changes, admin deposits, withdrawal locks and outcomes.
 */
export function balanceEvents(state: SimulatorState, now = state.now()): BalanceEvent[] {
  const events: BalanceEvent[] = [];
  const initialMs = state.initialDepositMs();
  if (initialMs <= now && state.options.initialDepositCenticents > 0n) {
    events.push({
      atMs: initialMs,
      sortKey: sortKey(initialMs, 'deposit', 0),
      balanceDelta: state.options.initialDepositCenticents,
      lockedDelta: 0n,
      reason: 'deposit',
      businessTransactionId: `bt-deposit-initial-${state.options.seed}`,
    });
  }
  const lastSettled = state.lastSettledCycle(now);
  for (let cycle = 0; cycle <= lastSettled; cycle++) {
    const paymentMs = state.paymentMs(cycle);
    if (paymentMs <= now) {
      for (const view of state.obligations(cycle, paymentMs)) {
        if (view.paidAmount === 0n) continue;
        events.push({
          atMs: paymentMs,
          sortKey: sortKey(paymentMs, 'settlement', state.world.assetClasses.length === 1 ? cycle : cycle * 16 + view.classIndex),
          balanceDelta: view.paidAmount,
          lockedDelta: 0n,
          reason: view.paidAmount < 0n ? 'settlement_payment' : 'settlement_receipt',
          businessTransactionId: state.paymentTransactionId(cycle, view.classIndex),
        });
      }
    }
    // A late fee change is settled against the buffer when it appears (never before the payment).
    for (const adjustment of state.visibleAdjustments(cycle, now)) {
      const atMs = adjustment.entryAtMs ?? Math.max(adjustment.atMs, paymentMs);
      if (atMs > now) continue;
      events.push({
        atMs,
        sortKey: sortKey(atMs, 'adjustment', cycle * 100_000 + 1 + state.injectedAdjustments.indexOf(adjustment)),
        balanceDelta: -adjustment.feeDelta,
        lockedDelta: 0n,
        reason: 'obligation_adjustment',
        businessTransactionId: adjustment.businessTransactionId,
      });
    }
  }
  for (const deposit of state.deposits) {
    if (deposit.atMs > now) continue;
    events.push({
      atMs: deposit.atMs,
      sortKey: sortKey(deposit.atMs, 'deposit', deposit.seq),
      balanceDelta: deposit.amount,
      lockedDelta: 0n,
      reason: 'deposit',
      businessTransactionId: deposit.businessTransactionId,
    });
  }
  for (const withdrawal of state.withdrawals) {
    if (withdrawal.createdMs > now) continue;
    events.push({
      atMs: withdrawal.createdMs,
      sortKey: sortKey(withdrawal.createdMs, 'withdrawalLock', withdrawal.seq),
      balanceDelta: -withdrawal.amount,
      lockedDelta: withdrawal.amount,
      reason: 'withdrawal_locked',
      businessTransactionId: withdrawal.id,
    });
    if (withdrawal.finalMs <= now) {
      events.push({
        atMs: withdrawal.finalMs,
        sortKey: sortKey(withdrawal.finalMs, 'withdrawalFinal', withdrawal.seq),
        balanceDelta: withdrawal.fails ? withdrawal.amount : 0n,
        lockedDelta: -withdrawal.amount,
        reason: withdrawal.fails ? 'withdrawal_failed' : 'withdrawal_processed',
        businessTransactionId: withdrawal.id,
      });
    }
  }
  events.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
  return events;
}

export function bufferBalance(state: SimulatorState, now = state.now()): { available: bigint; locked: bigint } {
  let available = 0n;
  let locked = 0n;
  for (const event of balanceEvents(state, now)) {
    available += event.balanceDelta;
    locked += event.lockedDelta;
  }
  return { available, locked };
}
