import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  WithdrawalApproval,
  WithdrawalAttempt,
  WithdrawalKlearAnswer,
  WithdrawalManualResolution,
  WithdrawalRequest,
  WithdrawalStateChange,
  type Role,
} from '@app/db';
import { parseCenticents, sumCenticents } from '@app/money';
import { DataSource, type EntityManager, In, QueryFailedError } from 'typeorm';
import type { ExecutorLease } from './executor-lease.repository';
import { ExecutorFenced, IdempotencyKeyTaken, KlearIdTaken } from './withdrawal-errors';
import { LOCKED_AT_KLEAR_STATES, WITHDRAWAL_STATES, type WithdrawalState } from './withdrawal-states';

/**
 * A transaction of the withdrawal workflow, opened by a repository (`transaction`, `fencedTransaction`)
 * and handed back to repository methods, and to AuditService.record and the notification outbox so
 * that they write in it. Services hold it; only repositories look inside.
 */
export type WithdrawalTx = EntityManager;

/** Postgres refused a write on a unique index (23505). */
function isUniqueViolation(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const e = error as { code?: string; driverError?: { code?: string } };
  return e.code === '23505' || e.driverError?.code === '23505';
}

/** Runs a write; a unique violation becomes `translated()` (a domain error), anything else passes through. */
async function onUniqueViolation<T>(write: Promise<T>, translated: () => Error): Promise<T> {
  try {
    return await write;
  } catch (error) {
    if (isUniqueViolation(error)) throw translated();
    throw error;
  }
}

/** The row of a state change of withdrawal_state_change (the history the API shows). */
export type StateChangeRow = Omit<WithdrawalStateChange, 'id' | 'request'>;

/** Columns that change with a state (klear id, expiry of a new round, ...). */
export type StateColumns = Partial<
  Pick<WithdrawalRequest, 'klearWithdrawalId' | 'submittedAt' | 'klearStatus' | 'approvalRound' | 'expiresAt' | 'executionHold'>
>;

export interface ApprovalWithCurrentRoles {
  approverId: string;
  approverName: string;
  decision: 'approve' | 'reject' | 'revoke';
  /** Roles held now; empty when the user is disabled (a disabled approver no longer counts). */
  currentRoles: Role[];
  /** Holds the approver role through a proposal the requester made or approved: never counts. */
  grantedByRequester?: boolean;
}

/**
 * The approver is not independent of the requester: an applied proposal that gave `approver` the
 * approver role (created, granted or re-enabled with it) was made or approved by `requester`; or the
 * approver was handed the requester's credential (an invitation for the requester issued to them, a
 * service-account token they minted for the requester), so they may be acting as the requester.
 */
const GRANTED_BY_REQUESTER_SQL = (approver: string, requester: string) =>
  `(EXISTS (SELECT 1 FROM admin_proposal p WHERE p.state = 'applied' AND 'approver' = ANY(p.grants) AND p.target_user_id = ${approver} AND ${requester} IN (p.proposed_by, p.decided_by))
    OR EXISTS (SELECT 1 FROM user_invitation i WHERE i.user_id = ${requester} AND i.issued_to_user_id = ${approver})
    OR EXISTS (SELECT 1 FROM api_token t WHERE t.user_id = ${requester} AND t.issued_by = 'admin:' || ${approver}::text))`;

export interface WithdrawalDetail {
  request: WithdrawalRequest;
  approvals: WithdrawalApproval[];
  attempts: WithdrawalAttempt[];
  history: WithdrawalStateChange[];
  /** Every answer Klear gave to this request's POSTs, as recorded first. */
  klearAnswers: WithdrawalKlearAnswer[];
}

export interface ListFilter {
  state?: WithdrawalState;
  /** true: only requests a person must look at (attention_reason set); false: only the others. */
  needsAttention?: boolean;
  limit: number;
  after?: { createdAt: string; id: string };
}

/** Every query of the withdrawal workflow. Row locks are taken inside the caller's transaction. */
@Injectable()
export class WithdrawalRepository {
  constructor(@InjectDataSource() readonly dataSource: DataSource) {}

  transaction<T>(work: (m: WithdrawalTx) => Promise<T>): Promise<T> {
    return this.dataSource.transaction('READ COMMITTED', work);
  }

  /**
   * A transaction of the executor that commits only while `lease` is the newest fencing token: the
   * fence row is read FOR SHARE first, so a takeover (which updates it) waits for this transaction to
   * end, and this transaction fails (ExecutorFenced) when a takeover came first.
   */
  fencedTransaction<T>(lease: ExecutorLease, work: (m: WithdrawalTx) => Promise<T>): Promise<T> {
    lease.assertHeld();
    return this.transaction(async (m) => {
      const rows = (await m.query('SELECT token::text AS token FROM withdrawal_executor_fence WHERE id = 1 FOR SHARE')) as Array<{
        token: string;
      }>;
      if (rows[0]?.token !== lease.token)
        throw new ExecutorFenced(lease.token, `another executor holds fencing token ${rows[0]?.token ?? '(none)'}`);
      return work(m);
    });
  }

  /** Klear's answer to a POST, appended before anything else is written about it (never updated). */
  async appendKlearAnswer(fields: Omit<WithdrawalKlearAnswer, 'id'>): Promise<void> {
    await this.dataSource.manager.insert(WithdrawalKlearAnswer, fields as never);
  }

  answersOfAttempt(attemptId: string): Promise<WithdrawalKlearAnswer[]> {
    return this.dataSource.manager.find(WithdrawalKlearAnswer, { where: { attemptId }, order: { id: 'ASC' } });
  }

  answersOfRequest(requestId: string): Promise<WithdrawalKlearAnswer[]> {
    return this.dataSource.manager.find(WithdrawalKlearAnswer, { where: { requestId }, order: { id: 'ASC' } });
  }

  /** Another request that already holds this Klear withdrawal id (its own, or an attempt's), if any. `m` null: outside a transaction. */
  async requestHoldingKlearId(m: WithdrawalTx | null, klearId: string, exceptRequestId: string): Promise<string | null> {
    const rows = (await (m ?? this.dataSource.manager).query(
      `SELECT id FROM withdrawal_request WHERE klear_withdrawal_id = $1 AND id <> $2
       UNION SELECT request_id FROM withdrawal_attempt WHERE klear_withdrawal_id = $1 AND request_id <> $2
       LIMIT 1`,
      [klearId, exceptRequestId],
    )) as Array<{ id: string }>;
    return rows[0]?.id ?? null;
  }

  /** Other attempts whose POST may have created a withdrawal of this amount and that are not resolved yet. */
  async competingUnresolvedAttempts(m: WithdrawalTx, amount: bigint, exceptAttemptId: string): Promise<number> {
    const rows = (await m.query(
      `SELECT count(*)::int AS n FROM withdrawal_attempt a JOIN withdrawal_request r ON r.id = a.request_id
        WHERE a.id <> $2 AND r.amount_centicents = $1 AND a.state IN ('submitting', 'outcome_unknown') AND a.posted_at IS NOT NULL`,
      [amount.toString(), exceptAttemptId],
    )) as Array<{ n: number }>;
    return rows[0].n;
  }

  /** Sets or clears why a person must look at a request (WithdrawalAttention is the only caller). */
  async setAttention(
    m: WithdrawalTx,
    id: string,
    fields: Pick<WithdrawalRequest, 'attentionReason' | 'attentionDetails' | 'attentionRaisedAt' | 'attentionNotifiedAt'>,
  ): Promise<void> {
    await m.update(WithdrawalRequest, { id }, fields as never);
  }

  async markAttentionNotified(m: WithdrawalTx, id: string, at: Date): Promise<void> {
    await m.update(WithdrawalRequest, { id }, { attentionNotifiedAt: at } as never);
  }

  /** SELECT ... FOR UPDATE: concurrent deciders and executors queue here, one at a time. */
  lockRequest(m: WithdrawalTx, id: string): Promise<WithdrawalRequest | null> {
    return m.findOne(WithdrawalRequest, { where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  findRequest(id: string): Promise<WithdrawalRequest | null> {
    return this.dataSource.getRepository(WithdrawalRequest).findOneBy({ id });
  }

  findByIdempotencyKey(requesterId: string, key: string, m?: WithdrawalTx): Promise<WithdrawalRequest | null> {
    return (m ?? this.dataSource.manager).findOneBy(WithdrawalRequest, { requesterId, idempotencyKey: key });
  }

  /** A new request; IdempotencyKeyTaken when the requester's key was taken meanwhile (the unique index). */
  async insertRequest(
    m: WithdrawalTx,
    fields: Omit<WithdrawalRequest, 'id' | 'createdAt' | 'updatedAt' | 'version'>,
  ): Promise<WithdrawalRequest> {
    return onUniqueViolation(m.save(m.create(WithdrawalRequest, fields)), () => new IdempotencyKeyTaken(fields.idempotencyKey));
  }

  /**
   * The state change itself: the new state and its columns, with an optimistic check of version and
   * state (answers whether the row matched). KlearIdTaken when a Klear id in `set` is held by another
   * request (the unique index).
   */
  async updateState(m: WithdrawalTx, request: WithdrawalRequest, to: WithdrawalState, set: StateColumns): Promise<boolean> {
    const result = await onUniqueViolation(
      m
        .createQueryBuilder()
        .update(WithdrawalRequest)
        .set({ ...set, state: to, version: () => 'version + 1', updatedAt: () => 'now()' } as never)
        .where('id = :id AND version = :version AND state = :from', { id: request.id, version: request.version, from: request.state })
        .execute(),
      () => new KlearIdTaken(set.klearWithdrawalId ?? null),
    );
    return result.affected === 1;
  }

  /** The local history row of a state change (pointing at its audit row). */
  async insertStateChange(m: WithdrawalTx, row: StateChangeRow): Promise<void> {
    await m.insert(WithdrawalStateChange, row as never);
  }

  /** Not a state change: the Klear id (and status) its status endpoint confirmed for a submitted request. */
  async setConfirmedKlearId(m: WithdrawalTx, id: string, klearId: string, klearStatus: string): Promise<void> {
    await m.query('UPDATE withdrawal_request SET klear_withdrawal_id = $2, klear_status = $3 WHERE id = $1', [id, klearId, klearStatus]);
  }

  /** Not a state change: the status Klear reports for a submitted request. */
  async setKlearStatus(m: WithdrawalTx, id: string, klearStatus: string): Promise<void> {
    await m.query('UPDATE withdrawal_request SET klear_status = $2 WHERE id = $1', [id, klearStatus]);
  }

  /**
   * Each approver's decision this round: their latest row ('revoke' withdraws an earlier approval).
   * `grantedByRequester`: the approver holds the role through a proposal the requester made or
   * approved (such an approval never counts).
   */
  async approvalsOfRound(m: WithdrawalTx, requestId: string, round: number): Promise<ApprovalWithCurrentRoles[]> {
    const rows = (await m.query(
      `SELECT * FROM (
         SELECT DISTINCT ON (a.approver_id) a.id, a.approver_id, a.approver_name, a.decision,
                CASE WHEN u.disabled_at IS NULL THEN u.roles ELSE '{}'::text[] END AS roles,
                ${GRANTED_BY_REQUESTER_SQL('a.approver_id', 'r.requester_id')} AS granted_by_requester
           FROM withdrawal_approval a JOIN app_user u ON u.id = a.approver_id JOIN withdrawal_request r ON r.id = a.request_id
          WHERE a.request_id = $1 AND a.round = $2
          ORDER BY a.approver_id, a.id DESC) latest
        ORDER BY id`,
      [requestId, round],
    )) as Array<{
      approver_id: string;
      approver_name: string;
      decision: 'approve' | 'reject' | 'revoke';
      roles: Role[];
      granted_by_requester: boolean;
    }>;
    return rows.map((r) => ({
      approverId: r.approver_id,
      approverName: r.approver_name,
      decision: r.decision,
      currentRoles: r.roles,
      grantedByRequester: r.granted_by_requester,
    }));
  }

  /** Was `approverId` given the approver role by a proposal `requesterId` made or approved? */
  async approverGrantedBy(m: WithdrawalTx, approverId: string, requesterId: string): Promise<boolean> {
    const rows = (await m.query(`SELECT ${GRANTED_BY_REQUESTER_SQL('$1::uuid', '$2::uuid')} AS tainted`, [
      approverId,
      requesterId,
    ])) as Array<{ tainted: boolean }>;
    return rows[0].tainted;
  }

  async insertDecision(m: WithdrawalTx, fields: Omit<WithdrawalApproval, 'id' | 'request' | 'approver'>): Promise<void> {
    await m.insert(WithdrawalApproval, fields);
  }

  async nextAttemptNo(m: WithdrawalTx, requestId: string): Promise<number> {
    const rows = (await m.query('SELECT COALESCE(MAX(attempt_no), 0) + 1 AS n FROM withdrawal_attempt WHERE request_id = $1', [
      requestId,
    ])) as Array<{ n: number }>;
    return Number(rows[0].n);
  }

  async insertAttempt(m: WithdrawalTx, fields: Omit<WithdrawalAttempt, 'id' | 'request'>): Promise<WithdrawalAttempt> {
    return m.save(m.create(WithdrawalAttempt, fields));
  }

  /** KlearIdTaken when the Klear id is held by another attempt (the unique index). */
  async updateAttempt(
    m: WithdrawalTx,
    id: string,
    fields: Partial<Pick<WithdrawalAttempt, 'state' | 'finishedAt' | 'klearWithdrawalId' | 'error' | 'resolution' | 'postedAt'>>,
  ): Promise<void> {
    await onUniqueViolation(m.update(WithdrawalAttempt, { id }, fields as never), () => new KlearIdTaken(fields.klearWithdrawalId ?? null));
  }

  /** Not a state change: why an approved request waits (kept for people reading the request). */
  async setExecutionHold(m: WithdrawalTx, id: string, hold: Record<string, unknown> | null): Promise<void> {
    await m.update(WithdrawalRequest, { id }, { executionHold: hold } as never);
  }

  /** The attempt still open for a request (submitting or outcome_unknown), if any. `m` null: outside a transaction. */
  openAttempt(m: WithdrawalTx | null, requestId: string): Promise<WithdrawalAttempt | null> {
    return (m ?? this.dataSource.manager).findOne(WithdrawalAttempt, {
      where: { requestId, state: In(['submitting', 'outcome_unknown']) },
      order: { attemptNo: 'DESC' },
    });
  }

  /**
   * Other requests that will leave the buffer but that the balance read at `balancePulledAt` does
   * not show as locked yet: submitting / outcome_unknown, those submitted after that read, and
   * approved ones. At execution (`queuedBehind` given) only approved requests ahead of this one in
   * the executor's oldest-first queue count: those behind it wait for it, not the other way round.
   */
  async notYetLocked(balancePulledAt: Date, queuedBehind?: { id: string; createdAt: Date }): Promise<{ total: bigint; ids: string[] }> {
    const rows = (await this.dataSource.query(
      `SELECT id, amount_centicents::text AS amount FROM withdrawal_request
        WHERE id <> COALESCE($2::uuid, '00000000-0000-0000-0000-000000000000'::uuid)
          AND (state IN ('submitting', 'outcome_unknown')
               OR (state IN ('submitted', 'processing') AND submitted_at > $1)
               OR (state = 'approved' AND ($2::uuid IS NULL OR (created_at, id) < ($3::timestamptz, $2::uuid))))
        ORDER BY created_at, id`,
      [balancePulledAt, queuedBehind?.id ?? null, queuedBehind?.createdAt ?? null],
    )) as Array<{ id: string; amount: string }>;
    let total = 0n;
    for (const r of rows) total += parseCenticents(r.amount);
    return { total, ids: rows.map((r) => r.id) };
  }

  /** Requests still waiting for approval: not deducted from headroom (nothing may leave yet), shown beside it. */
  async pendingApproval(): Promise<{ total: bigint; ids: string[] }> {
    const rows = (await this.dataSource.query(
      `SELECT id, amount_centicents::text AS amount FROM withdrawal_request WHERE state = 'pending_approval' ORDER BY created_at, withdrawal_request.id`,
    )) as Array<{ id: string; amount: string }>;
    return { total: sumCenticents(rows.map((r) => parseCenticents(r.amount))), ids: rows.map((r) => r.id) };
  }

  /** Requests waiting for this person's decision: not theirs, not decided by them this round. */
  async queueFor(userId: string, now: Date): Promise<Array<WithdrawalRequest & { approvalsSoFar: number }>> {
    const rows = await this.dataSource
      .getRepository(WithdrawalRequest)
      .createQueryBuilder('r')
      .addSelect(
        `(SELECT count(*) FROM (SELECT DISTINCT ON (a.approver_id) a.decision FROM withdrawal_approval a WHERE a.request_id = r.id AND a.round = r.approval_round ORDER BY a.approver_id, a.id DESC) latest WHERE latest.decision = 'approve')`,
        'approvals_so_far',
      )
      .where(`r.state = 'pending_approval'`)
      .andWhere('r.expires_at > :now', { now })
      .andWhere('r.requester_id <> :me', { me: userId })
      .andWhere(
        `NOT EXISTS (SELECT 1 FROM (SELECT DISTINCT ON (d.approver_id) d.decision FROM withdrawal_approval d WHERE d.request_id = r.id AND d.round = r.approval_round AND d.approver_id = :me ORDER BY d.approver_id, d.id DESC) mine WHERE mine.decision <> 'revoke')`,
      )
      .orderBy('r.created_at', 'ASC')
      .addOrderBy('r.id', 'ASC')
      .getRawAndEntities();
    return rows.entities.map((e, i) =>
      Object.assign(e, { approvalsSoFar: Number((rows.raw[i] as { approvals_so_far: string }).approvals_so_far) }),
    );
  }

  list(filter: ListFilter): Promise<WithdrawalRequest[]> {
    const qb = this.dataSource
      .getRepository(WithdrawalRequest)
      .createQueryBuilder('r')
      .orderBy('r.created_at', 'DESC')
      .addOrderBy('r.id', 'DESC')
      .limit(filter.limit);
    if (filter.state) qb.andWhere('r.state = :state', { state: filter.state });
    if (filter.needsAttention === true) qb.andWhere('r.attention_reason IS NOT NULL');
    if (filter.needsAttention === false) qb.andWhere('r.attention_reason IS NULL');
    if (filter.after)
      qb.andWhere('(r.created_at, r.id) < (:at::timestamptz, :id::uuid)', { at: filter.after.createdAt, id: filter.after.id });
    return qb.getMany();
  }

  async detail(id: string): Promise<WithdrawalDetail | null> {
    const request = await this.findRequest(id);
    if (!request) return null;
    const m = this.dataSource.manager;
    const [approvals, attempts, history, klearAnswers] = await Promise.all([
      m.find(WithdrawalApproval, { where: { requestId: id }, order: { id: 'ASC' } }),
      m.find(WithdrawalAttempt, { where: { requestId: id }, order: { attemptNo: 'ASC' } }),
      m.find(WithdrawalStateChange, { where: { requestId: id }, order: { id: 'ASC' } }),
      m.find(WithdrawalKlearAnswer, { where: { requestId: id }, order: { id: 'ASC' } }),
    ]);
    return { request, approvals, attempts, history, klearAnswers };
  }

  /** Approved requests, oldest first: the executor's queue. */
  approvedIds(): Promise<string[]> {
    return this.idsInStates(['approved']);
  }

  /** Requests left `submitting` (an executor stopped mid-submission), oldest first. */
  submittingIds(): Promise<string[]> {
    return this.idsInStates(['submitting']);
  }

  /** Requests whose outcome at Klear is unknown, oldest first. */
  outcomeUnknownIds(): Promise<string[]> {
    return this.idsInStates(['outcome_unknown']);
  }

  /** Submitted (or processing) requests without a Klear withdrawal id, oldest first. */
  submittedWithoutKlearId(): Promise<string[]> {
    return this.idsInStates(['submitted', 'processing'], 'klear_withdrawal_id IS NULL');
  }

  /** Submitted (or processing) requests with a Klear withdrawal id to follow, oldest first. */
  submittedWithKlearId(): Promise<string[]> {
    return this.idsInStates(['submitted', 'processing'], 'klear_withdrawal_id IS NOT NULL');
  }

  /** Requests not sent yet (pending approval or approved) whose expiry is at or before `now`, oldest first. */
  expiredOpenIds(now: Date): Promise<string[]> {
    return this.idsInStates(['pending_approval', 'approved'], 'expires_at <= $2', [now]);
  }

  /** Requests flagged for a person whose alert the webhook has not accepted yet, oldest first. */
  attentionNotNotifiedIds(): Promise<string[]> {
    return this.idsInStates(WITHDRAWAL_STATES, 'attention_reason IS NOT NULL AND attention_notified_at IS NULL');
  }

  private async idsInStates(states: readonly WithdrawalState[], extraWhere = 'TRUE', params: unknown[] = []): Promise<string[]> {
    const rows = (await this.dataSource.query(
      `SELECT id FROM withdrawal_request WHERE state = ANY($1::text[]) AND ${extraWhere} ORDER BY created_at, id`,
      [states, ...params],
    )) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }

  /** Klear withdrawal ids (and history references) already claimed by an attempt of this product. `m` null: outside a transaction. */
  async claimedKlearReferences(m: WithdrawalTx | null): Promise<Set<string>> {
    const rows = (await (m ?? this.dataSource.manager).query(
      `SELECT klear_withdrawal_id AS ref FROM withdrawal_attempt WHERE klear_withdrawal_id IS NOT NULL
       UNION SELECT resolution->>'business_transaction_id' FROM withdrawal_attempt WHERE resolution->>'business_transaction_id' IS NOT NULL
       UNION SELECT klear_withdrawal_id FROM withdrawal_request WHERE klear_withdrawal_id IS NOT NULL`,
    )) as Array<{ ref: string }>;
    return new Set(rows.map((r) => r.ref));
  }

  /** The resolution people proposed for a request and that waits for its confirmation, if any. `m` null: outside a transaction. */
  pendingResolution(m: WithdrawalTx | null, requestId: string): Promise<WithdrawalManualResolution | null> {
    return (m ?? this.dataSource.manager).findOneBy(WithdrawalManualResolution, { requestId, state: 'pending' });
  }

  /** The pending resolution of a request, row-locked (SELECT ... FOR UPDATE). */
  lockPendingResolution(m: WithdrawalTx, requestId: string): Promise<WithdrawalManualResolution | null> {
    return m.findOne(WithdrawalManualResolution, { where: { requestId, state: 'pending' }, lock: { mode: 'pessimistic_write' } });
  }

  async insertResolution(m: WithdrawalTx, fields: Omit<WithdrawalManualResolution, 'id'>): Promise<WithdrawalManualResolution> {
    return m.save(m.create(WithdrawalManualResolution, fields));
  }

  /** Writes a decided resolution (confirmed, rejected). */
  async saveResolution(m: WithdrawalTx, row: WithdrawalManualResolution): Promise<void> {
    await m.save(row);
  }

  /** Every resolution people proposed for a request, oldest first. */
  resolutionsOf(requestId: string): Promise<WithdrawalManualResolution[]> {
    return this.dataSource.manager.find(WithdrawalManualResolution, { where: { requestId }, order: { proposedAt: 'ASC', id: 'ASC' } });
  }

  /** Voids the resolution still waiting for confirmation (Klear's records settled the request first); answers the voided rows. */
  async voidPendingResolutions(
    m: WithdrawalTx,
    requestId: string,
    actor: string,
    at: Date,
    why: string,
  ): Promise<Array<{ id: string; conclusion: string; klear_withdrawal_id: string | null }>> {
    const voided = (await m.query(
      `UPDATE withdrawal_manual_resolution SET state = 'void', decided_by_name = $2, decided_at = $3, decision_reason = $4
        WHERE request_id = $1 AND state = 'pending' RETURNING id, conclusion, klear_withdrawal_id`,
      [requestId, actor, at, why],
    )) as [Array<{ id: string; conclusion: string; klear_withdrawal_id: string | null }>, number];
    return voided[0];
  }

  /** Requests waiting for approval and not past their expiry, oldest first (at most 500: the console's queue). */
  pendingNotExpired(now: Date): Promise<WithdrawalRequest[]> {
    return this.dataSource
      .getRepository(WithdrawalRequest)
      .createQueryBuilder('r')
      .where(`r.state = 'pending_approval'`)
      .andWhere('r.expires_at > :now', { now })
      .orderBy('r.created_at', 'ASC')
      .addOrderBy('r.id', 'ASC')
      .limit(500)
      .getMany();
  }

  /** The approvals of these requests in their current round, in the order they were given. */
  currentRoundApprovals(
    requestIds: string[],
  ): Promise<Array<{ request_id: string; approver_id: string; approver_name: string; decided_at: Date; reason: string | null }>> {
    return this.dataSource.query(
      `SELECT a.request_id, a.approver_id, a.approver_name, a.decided_at, a.reason
         FROM withdrawal_approval a JOIN withdrawal_request r ON r.id = a.request_id AND r.approval_round = a.round
        WHERE a.request_id = ANY($1::uuid[]) AND a.decision = 'approve' ORDER BY a.decided_at`,
      [requestIds],
    );
  }

  /** Reconciliation's view of what Klear should hold locked for this product: submitted, not final. */
  async inFlightAtKlear(): Promise<{ count: number; totalCenticents: bigint; unknownCount: number; unknownCenticents: bigint }> {
    const rows = (await this.dataSource.query(
      `SELECT count(*) FILTER (WHERE state = ANY($1::text[]))::int AS n,
              COALESCE(SUM(amount_centicents) FILTER (WHERE state = ANY($1::text[])), 0)::text AS total,
              count(*) FILTER (WHERE state IN ('submitting','outcome_unknown'))::int AS u,
              COALESCE(SUM(amount_centicents) FILTER (WHERE state IN ('submitting','outcome_unknown')), 0)::text AS utotal
         FROM withdrawal_request`,
      [LOCKED_AT_KLEAR_STATES],
    )) as Array<{ n: number; total: string; u: number; utotal: string }>;
    return {
      count: rows[0].n,
      totalCenticents: parseCenticents(rows[0].total),
      unknownCount: rows[0].u,
      unknownCenticents: parseCenticents(rows[0].utotal),
    };
  }
}
