import { describe, expect, it } from '@jest/globals';
import { KlearHttpError, KlearNetworkError, KlearOutcomeUnknownError, KlearCircuitOpenError, KlearTimeoutError } from '@app/klear-client';
import { headOf, movementsSince } from './balance-history-walk';
import { checkHeadroom, payableOf } from './headroom-check';
import { classifySubmissionError } from './klear-adapters';
import { approvalProgress, defaultPolicyTerms, policyProblems, tierFor } from './withdrawal-policy';
import type { KlearBalanceMovement, WithdrawalKlearPort } from './withdrawal-ports';
import { ALLOWED_TRANSITIONS, canTransition, isTerminal, WITHDRAWAL_STATES } from './withdrawal-states';

describe('the transition table', () => {
  it('never lets a submission-started request be cancelled, expired or sent back without proof', () => {
    for (const from of ['submitting', 'outcome_unknown', 'submitted', 'processing'] as const) {
      expect([from, canTransition(from, 'cancelled'), canTransition(from, 'expired')]).toEqual([from, false, false]);
    }
    // Back to approved only from submitting, which the executor takes only when the attempt has no
    // fenced posting record (it provably never left); never once the outcome may be at Klear.
    expect(
      ['submitting', 'outcome_unknown', 'submitted', 'processing'].map((from) => canTransition(from as 'submitting', 'approved')),
    ).toEqual([true, false, false, false]);
    expect(ALLOWED_TRANSITIONS.outcome_unknown).toEqual(['submitted', 'not_submitted']);
    expect(ALLOWED_TRANSITIONS.not_submitted).toEqual(['pending_approval']);
    expect(canTransition('approved', 'submitting')).toBe(true);
    expect(canTransition('pending_approval', 'submitting')).toBe(false);
  });

  it('has exactly processed, failed, rejected, cancelled and expired as final states', () => {
    expect(WITHDRAWAL_STATES.filter(isTerminal).sort()).toEqual(['cancelled', 'expired', 'failed', 'processed', 'rejected']);
  });
});

describe('policy tiers', () => {
  const terms = defaultPolicyTerms(10_000_000_000_000n);
  it('chooses the tier whose minimum the amount reaches, boundaries included', () => {
    expect(tierFor(terms, 999_999_999n).approvalsRequired).toBe(1);
    expect(tierFor(terms, 1_000_000_000n).approvalsRequired).toBe(2);
    expect(tierFor(terms, 10_000_000_000n).rolesRequired).toEqual(['admin']);
  });

  it('counts distinct approvers holding the approver role, and requires each listed role', () => {
    const top = tierFor(terms, 10_000_000_000n);
    const a = { approverId: 'a', roles: ['approver'] as const };
    const b = { approverId: 'b', roles: ['approver'] as const };
    const admin = { approverId: 'c', roles: ['approver', 'admin'] as const };
    const adminOnly = { approverId: 'd', roles: ['admin'] as const };
    expect(approvalProgress(top, [a, a, a])).toMatchObject({ approvals: 1, satisfied: false });
    expect(approvalProgress(top, [a, b])).toMatchObject({ approvals: 2, rolesMissing: ['admin'], satisfied: false });
    expect(approvalProgress(top, [a, adminOnly])).toMatchObject({ approvals: 1, rolesMissing: ['admin'], satisfied: false });
    expect(approvalProgress(top, [a, admin])).toMatchObject({ approvals: 2, rolesMissing: [], satisfied: true });
  });

  it('names what is wrong with an incoherent policy', () => {
    expect(policyProblems(terms)).toEqual([]);
    const bad = {
      ...terms,
      tiers: [
        { minAmountCenticents: 5n, approvalsRequired: 2, rolesRequired: [] },
        { minAmountCenticents: 5n, approvalsRequired: 1, rolesRequired: [] },
      ],
      capCenticents: 0n,
    };
    expect(policyProblems(bad).map((p) => p.split(':')[0])).toEqual([
      'tiers[0].min_amount_centicents',
      'tiers[1].min_amount_centicents',
      'tiers[1].approvals_required',
      'cap_centicents',
    ]);
  });
});

describe('headroom', () => {
  const base = {
    available: 1_000_000n,
    locked: 0n,
    balancePulledAt: new Date('2026-11-21T10:00:00Z'),
    balanceSource: 'klear' as const,
    notYetLocked: 100_000n,
    notYetLockedRequestIds: ['x'],
    activeObligationPayable: payableOf(-200_000n),
    activeObligationId: 'ob-1',
    estimatePayable: payableOf(50_000n),
    estimatePulledAt: null,
    reserveFloor: 1n,
  };
  it('reserves only payable (negative) obligations and estimates', () => {
    expect([payableOf(-5n), payableOf(5n), payableOf(null)]).toEqual([5n, 0n, 0n]);
  });

  it('passes at exactly the headroom and fails one centicent above it', () => {
    expect(checkHeadroom({ ...base, amount: 699_999n })).toMatchObject({
      ok: true,
      headroom: 699_999n,
      figures: { shortfall_centicents: '0' },
    });
    expect(checkHeadroom({ ...base, amount: 700_000n })).toMatchObject({
      ok: false,
      figures: { shortfall_centicents: '1', reserve_centicents: '200001' },
    });
  });
});

describe('reading balance history after a POST', () => {
  const entry = (ts: string, id: string, locked = 0n): KlearBalanceMovement => ({
    balanceDelta: -locked,
    lockedDelta: locked,
    reason: locked ? 'withdrawal_locked' : 'deposit',
    businessTransactionId: id,
    createdTs: ts,
  });
  const port = (pages: KlearBalanceMovement[][]): WithdrawalKlearPort =>
    ({
      balanceHistoryPage: async (cursor?: string) => {
        const i = cursor ? Number(cursor) : 0;
        return { entries: pages[i], cursor: i + 1 < pages.length ? String(i + 1) : undefined };
      },
    }) as unknown as WithdrawalKlearPort;

  it('finds entries at the same instant as the head that were not there before, across reordered pages, once each', async () => {
    const before = [
      entry('2026-11-20T21:00:00Z', 'old-b', 5n),
      entry('2026-11-20T21:00:00Z', 'old-a', 5n),
      entry('2026-11-20T20:00:00Z', 'older'),
    ];
    const head = headOf(before);
    expect(head.entries_at_head).toHaveLength(2);
    const newLock = entry('2026-11-20T21:00:00Z', 'new-1', 7n);
    const later = entry('2026-11-20T22:00:00Z', 'new-2', 9n);
    const walk = await movementsSince(
      port([
        [newLock, later, before[0]],
        [later, before[1], before[2]],
      ]),
      head,
    );
    expect(walk).toEqual({ complete: true, entries: [newLock, later] });
  });

  it('says the walk is incomplete when it runs out of pages before reaching the head', async () => {
    const head = headOf([entry('2026-11-20T21:00:00Z', 'old')]);
    const pages = [[entry('2026-11-20T23:00:00Z', 'n1')], [entry('2026-11-20T22:00:00Z', 'n2')], [entry('2026-11-20T20:00:00Z', 'x')]];
    expect(await movementsSince(port(pages), head, 2)).toMatchObject({ complete: false });
  });
});

describe('classifying a failed POST', () => {
  const endpoint = 'POST /margin/withdraw_settlement_balance';
  it('treats only a 4xx answer or a request that never left as proof that nothing was created', () => {
    expect(classifySubmissionError(new KlearHttpError(endpoint, 400, 'insufficient_balance', 'too much', undefined))).toMatchObject({
      kind: 'refused',
      status: 400,
      code: 'insufficient_balance',
    });
    expect(classifySubmissionError(new KlearCircuitOpenError(endpoint)).kind).toBe('not_sent');
    expect(classifySubmissionError(new KlearNetworkError(endpoint, 'ECONNREFUSED', false)).kind).toBe('not_sent');
    expect(classifySubmissionError(new KlearOutcomeUnknownError(endpoint, 'timeout', '500.00 USD')).kind).toBe('unknown');
    expect(classifySubmissionError(new KlearTimeoutError(endpoint, 1000)).kind).toBe('unknown');
    expect(classifySubmissionError(new Error('something unexpected')).kind).toBe('unknown');
    expect(classifySubmissionError(new KlearHttpError('POST /log_in', 401, 'unauthorized', undefined, undefined)).kind).toBe('refused');
  });
});
