import type { BreakStatus, ResolutionReason } from '@app/db';

export type BreakAction = 'acknowledge' | 'resolve' | 'cosign' | 'assign' | 'comment';

/**
 * Where each operator action may start and where it leads. A resolution with `write_off` waits
 * for an approver's co-sign in `pending_write_off`; runs (not people) close and reopen breaks.
 */
const FROM: Record<BreakAction, readonly BreakStatus[]> = {
  acknowledge: ['open'],
  resolve: ['open', 'acknowledged'],
  cosign: ['pending_write_off'],
  assign: ['open', 'acknowledged', 'pending_write_off'],
  comment: ['open', 'acknowledged', 'pending_write_off', 'resolved', 'closed'],
};

export function actionAllowed(action: BreakAction, status: BreakStatus): boolean {
  return FROM[action].includes(status);
}

export function statusAfter(action: BreakAction, status: BreakStatus, reason?: ResolutionReason): BreakStatus {
  switch (action) {
    case 'acknowledge':
      return 'acknowledged';
    case 'resolve':
      return reason === 'write_off' ? 'pending_write_off' : 'resolved';
    case 'cosign':
      return 'resolved';
    default:
      return status;
  }
}

/** What a resolution reason must carry in `reference`, or null when nothing is required. */
export function requiredReference(reason: ResolutionReason): string | null {
  if (reason === 'adjustment_booked') return 'the external_id of the ledger entry that books the adjustment';
  if (reason === 'klear_error') return 'the Klear ticket reference';
  return null;
}
