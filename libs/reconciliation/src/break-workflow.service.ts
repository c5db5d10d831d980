import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AuditService } from '@app/audit';
import { Clock } from '@app/clock';
import type { BreakStatus, ResolutionReason } from '@app/db';
import { NotFound } from '@app/errors';
import { DataSource, type EntityManager } from 'typeorm';
import { type BreakAction, actionAllowed, requiredReference, statusAfter } from './break-transitions';
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

interface LockedBreak {
  id: string;
  status: BreakStatus;
  assignee: string | null;
  resolved_by_user_id: string | null;
  resolution_reason: string | null;
  difference_centicents: string;
  write_off_difference_centicents: string | null;
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
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  acknowledge(breakId: string, actor: BreakActor, note?: string): Promise<void> {
    return this.transition(breakId, 'acknowledge', actor, async (tx) => {
      await tx.query(`UPDATE recon_break SET status = 'acknowledged', updated_at = $2 WHERE id = $1`, [breakId, this.clock.now()]);
      return { toState: 'acknowledged', reason: note ?? null };
    });
  }

  /** `assignee` names an enabled user by id or name; the break keeps the user's name (what `?assignee=` filters on). */
  assign(breakId: string, assignee: string, actor: BreakActor): Promise<void> {
    return this.transition(breakId, 'assign', actor, async (tx, current) => {
      const [user] = (await tx.query(`SELECT id::text, name FROM app_user WHERE (id::text = $1 OR name = $1) AND disabled_at IS NULL`, [
        assignee.trim(),
      ])) as Array<{ id: string; name: string }>;
      if (!user) throw new UnknownAssignee(assignee);
      await tx.query(`UPDATE recon_break SET assignee = $2, updated_at = $3 WHERE id = $1`, [breakId, user.name, this.clock.now()]);
      return { toState: current.status, details: { from_assignee: current.assignee, assignee: user.name, assignee_user_id: user.id } };
    });
  }

  comment(breakId: string, body: string, actor: BreakActor): Promise<void> {
    return this.transition(breakId, 'comment', actor, async (tx, current) => {
      const [row] = (await tx.query(
        `INSERT INTO recon_break_comment (break_id, author, body, created_at) VALUES ($1, $2, $3, $4) RETURNING id::text`,
        [breakId, actor.name, body, this.clock.now()],
      )) as Array<{ id: string }>;
      return { toState: current.status, details: { comment_id: row.id, body } };
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
      if (resolution.reason === 'adjustment_booked') {
        const found = (await tx.query(`SELECT 1 FROM journal_entry WHERE external_id = $1`, [reference])) as unknown[];
        if (found.length === 0) throw new UnknownLedgerEntry(reference!);
      }
      const to = statusAfter('resolve', 'open', resolution.reason);
      const now = this.clock.now();
      await tx.query(
        `UPDATE recon_break SET status = $2, resolution_reason = $3, resolution_reference = $4, resolution_note = $5,
                resolved_by = $6, resolved_by_user_id = $7, cosigned_by = NULL, resolved_at = CASE WHEN $2 = 'resolved' THEN $8::timestamptz END,
                write_off_difference_centicents = $9, updated_at = $8
          WHERE id = $1`,
        [
          breakId,
          to,
          resolution.reason,
          reference,
          resolution.note ?? null,
          actor.name,
          actor.userId,
          now,
          writeOff ? current.difference_centicents : null,
        ],
      );
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
      const now = this.clock.now();
      await tx.query(`UPDATE recon_break SET status = 'resolved', cosigned_by = $2, resolved_at = $3, updated_at = $3 WHERE id = $1`, [
        breakId,
        actor.name,
        now,
      ]);
      return { toState: 'resolved', reason: 'write_off', details: { note: note ?? null, difference_centicents: named } };
    });
  }

  private async transition(
    breakId: string,
    action: BreakAction,
    actor: BreakActor,
    apply: (
      tx: EntityManager,
      current: LockedBreak,
    ) => Promise<{ toState: string; reason?: string | null; details?: Record<string, unknown> }>,
  ): Promise<void> {
    if (!/^\d{1,18}$/.test(breakId)) throw new NotFound('break', breakId);
    await this.dataSource.transaction(async (tx) => {
      const [current] = (await tx.query(
        `SELECT id::text, status, assignee, resolved_by_user_id, resolution_reason, difference_centicents::text,
                write_off_difference_centicents::text FROM recon_break WHERE id = $1 FOR UPDATE`,
        [breakId],
      )) as LockedBreak[];
      if (!current) throw new NotFound('break', breakId);
      if (!actionAllowed(action, current.status)) throw new BreakTransitionNotAllowed(action, current.status);
      const change = await apply(tx, current);
      await this.audit.record(
        {
          actor: actor.name,
          action: `break.${action}`,
          entityType: 'recon_break',
          entityId: breakId,
          fromState: current.status,
          toState: change.toState,
          reason: change.reason ?? null,
          details: change.details ?? null,
        },
        tx,
      );
    });
  }
}
