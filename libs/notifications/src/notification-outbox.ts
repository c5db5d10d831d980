import { Injectable } from '@nestjs/common';
import { Clock } from '@app/clock';
import { type DbTransaction } from '@app/db';
import { type NotificationEvent } from './notification-kinds';
import { enqueueNotification } from './notification-outbox.repository';

/**
 * The outbox: an event is announced by a row written in the same transaction as the event itself
 * (a withdrawal transition, a break opened, a proposal), so there is a notification exactly when
 * the event committed. The sender (NotificationSender) delivers it later.
 */
@Injectable()
export class NotificationOutbox {
  constructor(private readonly clock: Clock) {}

  enqueue(tx: DbTransaction, event: NotificationEvent): Promise<boolean> {
    return enqueueNotification(tx, this.clock.now(), event);
  }
}

/**
 * The `break.opened` notifications of a reconciliation run, written in the run's transaction: one
 * per break this run opened or reopened whose difference is at least $2 centicents (absolute).
 * Amounts with every centicent (as formatUsdExact): a sub-cent break is never shown as "$0.00".
 * Parameters: $1 run id, $2 minimum, $3 the run's time, $4 the break ids reopened by this run.
 */
export const BREAKS_OPENED_OUTBOX_SQL = `
  INSERT INTO notification_outbox (kind, subject_type, subject_id, dedupe_key, payload, audience, created_at)
  SELECT 'break.opened', 'break', b.id::text, 'break.opened:' || b.id || ':' || $1::text,
         jsonb_build_object(
           'summary', b."check" || ' break of ' || '$' || to_char(abs(b.difference_centicents) / 10000.0, 'FM999,999,999,999,990.0000') || coalesce(' (' || b.subtrader_id || ')', ''),
           'facts', jsonb_build_array(
             jsonb_build_array('Break', b.id::text), jsonb_build_array('Check', b."check"), jsonb_build_array('Reason', b.reason_code),
             jsonb_build_array('Difference', CASE WHEN b.difference_centicents < 0 THEN '-' ELSE '' END || '$' || to_char(abs(b.difference_centicents) / 10000.0, 'FM999,999,999,999,990.0000')),
             jsonb_build_array('Subtrader', coalesce(b.subtrader_id, '-')), jsonb_build_array('Cycle', coalesce(to_char(b.cycle AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI"Z"'), 'projected'))),
           'link', '/breaks/' || b.id),
         '{"roles":["operator","admin"]}'::jsonb, $3
    FROM recon_break b
   WHERE (b.first_seen_run = $1::bigint OR b.id = ANY($4::bigint[])) AND b.status = 'open' AND abs(b.difference_centicents) >= $2::bigint
  ON CONFLICT (dedupe_key) DO NOTHING`;

/**
 * A dual-control proposal waits for a second admin: AdminProposals writes it in the transaction that
 * opens the proposal, for every admin but the proposer.
 */
export function proposalWaitingEvent(proposal: {
  id: string;
  action: string;
  proposerId: string;
  proposerName: string;
}): NotificationEvent {
  return {
    kind: 'admin.proposal_waiting',
    subjectType: 'admin_proposal',
    subjectId: proposal.id,
    dedupeKey: `admin.proposal_waiting:${proposal.id}`,
    payload: {
      summary: `${proposal.action} proposed by ${proposal.proposerName} waits for a second admin`,
      facts: [
        ['Proposal', proposal.id],
        ['Action', proposal.action],
        ['Proposed by', proposal.proposerName],
      ],
      link: `/admin/proposals/${proposal.id}`,
    },
    audience: { roles: ['admin'], exclude: [proposal.proposerId] },
  };
}
