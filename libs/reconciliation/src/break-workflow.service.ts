import { Injectable } from '@nestjs/common';
import { Clock } from '@app/clock';
import type { ResolutionReason } from '@app/db';
import { NotFound } from '@app/errors';
import { LedgerRepository } from '@app/ledger';
import { type BreakAction, actionAllowed, requiredReference, statusAfter } from './break-transitions';
import { BreakRepository, type BreakTransaction, type LockedBreak } from './break.repository';
import {
  BreakFiguresChanged,
  BreakTransitionNotAllowed,
  CosignerMustDiffer,
  DifferenceRequired,
  ResolutionReferenceRequired,
  UnknownAssignee,
  UnknownLedgerEntry,
} from './reconciliation-errors';

export interface BreakActor {
  userId: string;
  name: string;
}

export interface Resolution {
  reason: ResolutionReason;
  reference?: string;
  note?: string;
  /** The break's difference as the person saw it (centicents); required for a write-off. */
  differenceCenticents?: bigint;
}

/**
 * People working breaks: every change under a row lock, with its audit row in the same transaction.
 * A write-off names the difference it writes off, and its co-sign names it again: both must equal
 * the break's difference at that moment (a run that finds other figures voids a pending write-off,
 * see the break lifecycle), so a co-sign approves exactly the amount that was proposed.
 */
@Injectable()
export class BreakWorkflowService {
  constructor(
    private readonly breaks: BreakRepository,
    private readonly ledger: LedgerRepository,
    private readonly clock: Clock,
  ) {}

  acknowledge(breakId: string, actor: BreakActor, note?: string): Promise<void> {
    return this.transition(breakId, 'acknowledge', actor, async (tx) => {
      await tx.acknowledge(breakId, this.clock.now());
      return { toState: 'acknowledged', reason: note ?? null };
    });
  }

  /** `assignee` names an enabled user by id or name; the break keeps the user's name (what `?assignee=` filters on). */
  assign(breakId: string, assignee: string, actor: BreakActor): Promise<void> {
    return this.transition(breakId, 'assign', actor, async (tx, current) => {
      const user = await tx.findEnabledUser(assignee.trim());
      if (!user) throw new UnknownAssignee(assignee);
      await tx.assign(breakId, user.name, this.clock.now());
      return { toState: current.status, details: { from_assignee: current.assignee, assignee: user.name, assignee_user_id: user.id } };
    });
  }

  comment(breakId: string, body: string, actor: BreakActor): Promise<void> {
    return this.transition(breakId, 'comment', actor, async (tx, current) => {
      const commentId = await tx.addComment(breakId, actor.name, body, this.clock.now());
      return { toState: current.status, details: { comment_id: commentId, body } };
    });
  }

  resolve(breakId: string, resolution: Resolution, actor: BreakActor): Promise<void> {
    const needed = requiredReference(resolution.reason);
    const reference = resolution.reference?.trim() || null;
    if (needed && !reference) throw new ResolutionReferenceRequired(resolution.reason, needed);
    const writeOff = resolution.reason === 'write_off';
    if (writeOff && resolution.differenceCenticents === undefined) throw new DifferenceRequired('propose a write-off');
    return this.transition(breakId, 'resolve', actor, async (tx, current) => {
      const named = resolution.differenceCenticents;
      if (named !== undefined && named.toString() !== current.difference_centicents)
        throw new BreakFiguresChanged(named.toString(), current.difference_centicents, null);
      // The ledger is asked inside the break's transaction, after the break's own refusals.
      if (resolution.reason === 'adjustment_booked' && !(await this.ledger.entryExists(reference!, tx.handle)))
        throw new UnknownLedgerEntry(reference!);
      const to = statusAfter('resolve', 'open', resolution.reason);
      await tx.resolve(breakId, {
        status: to,
        reason: resolution.reason,
        reference,
        note: resolution.note ?? null,
        resolvedBy: actor.name,
        resolvedByUserId: actor.userId,
        now: this.clock.now(),
        writeOffDifferenceCenticents: writeOff ? current.difference_centicents : null,
      });
      return {
        toState: to,
        reason: resolution.reason,
        details: { reference, note: resolution.note ?? null, difference_centicents: current.difference_centicents },
      };
    });
  }

  /**
   * An approver other than the proposer co-signs a write-off, which resolves it: the co-sign names
   * the difference it approves, which must be the one proposed and still the break's.
   */
  cosign(breakId: string, actor: BreakActor, differenceCenticents: bigint | undefined, note?: string): Promise<void> {
    if (differenceCenticents === undefined) throw new DifferenceRequired('co-sign a write-off');
    return this.transition(breakId, 'cosign', actor, async (tx, current) => {
      if (current.resolved_by_user_id === actor.userId) throw new CosignerMustDiffer();
      const named = differenceCenticents.toString();
      if (named !== current.difference_centicents || named !== current.write_off_difference_centicents) {
        throw new BreakFiguresChanged(named, current.difference_centicents, current.write_off_difference_centicents);
      }
      await tx.cosign(breakId, actor.name, this.clock.now());
      return { toState: 'resolved', reason: 'write_off', details: { note: note ?? null, difference_centicents: named } };
    });
  }

  private async transition(
    breakId: string,
    action: BreakAction,
    actor: BreakActor,
    apply: (
      tx: BreakTransaction,
      current: LockedBreak,
    ) => Promise<{ toState: string; reason?: string | null; details?: Record<string, unknown> }>,
  ): Promise<void> {
    if (!/^\d{1,18}$/.test(breakId)) throw new NotFound('break', breakId);
    await this.breaks.run(async (tx) => {
      const current = await tx.lock(breakId);
      if (!current) throw new NotFound('break', breakId);
      if (!actionAllowed(action, current.status)) throw new BreakTransitionNotAllowed(action, current.status);
      const change = await apply(tx, current);
      await tx.record({
        actor: actor.name,
        action: `break.${action}`,
        entityType: 'recon_break',
        entityId: breakId,
        fromState: current.status,
        toState: change.toState,
        reason: change.reason ?? null,
        details: change.details ?? null,
      });
    });
  }
}
