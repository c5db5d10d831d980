import { Inject, Injectable } from '@nestjs/common';
import { AuditService } from '@app/audit';
import {
  isPrivileged,
  type IssuedInvitation,
  type Principal,
  type Role,
  ServiceAccountPrivileged,
  UserDisabled,
  UsersService,
} from '@app/auth';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig } from '@app/config';
import {
  type AdminProposal,
  type AdminProposalKind,
  type AppUser,
  type DbTransaction,
  DbTransactions,
  PRIVILEGED_ROLES,
  type UserKind,
} from '@app/db';
import { BusinessRuleViolation, Conflict, DomainError, NotFound } from '@app/errors';
import { enqueueNotification, proposalWaitingEvent } from '@app/notifications';
import {
  policyFromSnapshot,
  policyToSnapshot,
  type PolicySnapshotJson,
  WithdrawalPolicyService,
  type WithdrawalPolicyTerms,
} from '@app/withdrawals';
import { AdminProposalRepository } from './admin-proposal.repository';

export class ProposalSelfApproval extends DomainError {
  constructor(id: string, why: string) {
    super('PROPOSAL_SELF_APPROVAL', 'forbidden', `proposal ${id}: ${why}; a second admin must approve it`, { id });
  }
}

export class ProposalNotPending extends Conflict {
  constructor(p: AdminProposal) {
    super('PROPOSAL_NOT_PENDING', `proposal ${p.id} is ${p.state}: it takes no more decisions`, { id: p.id, state: p.state });
  }
}

export interface UserChangeResult {
  user: AppUser | null;
  /** Proposals this call opened (what waits for a second admin). */
  proposals: AdminProposal[];
  /** A one-time invitation code for the new person: shown once, hand it to them. */
  invitation: IssuedInvitation | null;
}

const privilegedOf = (roles: readonly Role[]) => roles.filter((r) => (PRIVILEGED_ROLES as readonly string[]).includes(r));

/**
 * Dual control of who may do what: creating a user with approver or admin, granting either role,
 * re-enabling a disabled user, and every change of the withdrawal policy are proposals that take
 * effect only when a second admin (not the proposer, not the user concerned) approves them. Removing
 * roles and disabling take effect at once. Both steps are audited; the database refuses a decision
 * by the proposer (CHECK admin_proposal_not_by_proposer).
 */
@Injectable()
export class AdminProposals {
  constructor(
    private readonly transactions: DbTransactions,
    private readonly proposals: AdminProposalRepository,
    private readonly users: UsersService,
    private readonly policies: WithdrawalPolicyService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** POST /users: a service account or an unprivileged person at once; a person with approver/admin as a proposal. */
  async createUser(body: { name: string; roles: Role[]; kind: UserKind }, who: Principal): Promise<UserChangeResult> {
    if (body.kind === 'service') {
      if (isPrivileged(body.roles)) throw new ServiceAccountPrivileged(body.roles);
      return { user: await this.users.createUser(body.name, body.roles, who.name, 'service'), proposals: [], invitation: null };
    }
    return this.transactions.run(async (m) => {
      await this.users.assertNameFree(body.name, m);
      if (!isPrivileged(body.roles)) {
        const user = await this.users.createUser(body.name, body.roles, who.name, 'person', m);
        return { user, proposals: [], invitation: await this.users.issueInvitation(m, { userId: user.id, proposalId: null }, who) };
      }
      if (await this.proposals.userCreationPending(m, body.name))
        throw new Conflict('USER_NAME_TAKEN', `a proposal to create '${body.name}' is already waiting`);
      const proposal = await this.open(m, 'user.create', null, { name: body.name, roles: body.roles }, privilegedOf(body.roles), who);
      // The code is handed to the new person now; it works once a second admin has approved the user.
      const invitation = await this.users.issueInvitation(m, { userId: null, proposalId: proposal.id }, who);
      return { user: null, proposals: [proposal], invitation };
    });
  }

  /** PATCH /users/{id}: removals and disabling at once; privileged grants and re-enabling as proposals. */
  async patchUser(id: string, body: { roles?: Role[]; disabled?: boolean }, who: Principal): Promise<UserChangeResult> {
    const user = await this.users.findUser(id);
    if (!user) throw new NotFound('user', id);
    const wanted = body.roles ?? user.roles;
    const removeRoles = user.roles.filter((r) => !wanted.includes(r));
    const added = wanted.filter((r) => !user.roles.includes(r));
    const grant = privilegedOf(added);
    if (grant.length > 0 && user.kind === 'service') throw new ServiceAccountPrivileged(grant);
    const disable = body.disabled === true;
    const enable = body.disabled === false && user.disabledAt !== null;
    if (grant.length > 0 && user.disabledAt && !enable) throw new UserDisabled(id);
    let current: AppUser = user;
    if (removeRoles.length > 0 || added.length > grant.length || (disable && !user.disabledAt)) {
      current = await this.users.changeNow(id, { removeRoles, addRoles: added.filter((r) => !grant.includes(r)), disable }, who);
    }
    if (disable) return { user: current, proposals: [], invitation: null };
    const proposals: AdminProposal[] = [];
    await this.transactions.run(async (m) => {
      if (enable) proposals.push(await this.open(m, 'user.enable', id, {}, privilegedOf(current.roles), who));
      if (grant.length > 0) proposals.push(await this.open(m, 'user.grant_roles', id, { roles: grant }, grant, who));
    });
    return { user: current, proposals, invitation: null };
  }

  /** PUT /withdrawal-policy: validated now, in force when a second admin approves. */
  async proposePolicy(terms: WithdrawalPolicyTerms, who: Principal, requestBody: unknown): Promise<AdminProposal> {
    this.policies.validate(terms);
    const current = await this.policies.current();
    const snapshot = policyToSnapshot({ ...terms, version: current.version + 1 });
    return this.transactions.run((m) =>
      this.open(m, 'withdrawal_policy.change', null, { policy: snapshot, based_on_version: current.version }, [], who, requestBody),
    );
  }

  async approve(
    id: string,
    who: Principal,
    reason: string | undefined,
    requestBody: unknown,
  ): Promise<{ proposal: AdminProposal; effect: Record<string, unknown> }> {
    const outcome = await this.transactions.run(async (m) => {
      const p = await this.lockPending(m, id);
      if (p === 'void') return 'void' as const;
      if (p.proposedBy === who.userId) throw new ProposalSelfApproval(id, 'the proposer cannot approve their own proposal');
      if (p.targetUserId === who.userId) throw new ProposalSelfApproval(id, 'nobody approves a change to their own rights');
      // The proposal stands only while its proposer is still an active admin.
      const proposer = await this.users.findUser(p.proposedBy, m);
      if (!proposer || proposer.disabledAt || !proposer.roles.includes('admin')) {
        await this.close(m, p, 'void', null, 'the proposer is no longer an active admin');
        return 'void' as const;
      }
      const actor = `${p.proposedByName}+${who.name}`;
      const effect = await this.apply(m, p, actor, requestBody);
      await this.close(m, p, 'applied', who, reason ?? null, effect, requestBody);
      return { proposal: p, effect };
    });
    if (outcome === 'void') {
      const p = await this.get(id);
      throw new ProposalNotPending(p);
    }
    return outcome;
  }

  /** Any admin may reject (the proposer withdraws their own this way); a rejection ends the proposal. */
  async reject(id: string, who: Principal, reason: string, requestBody: unknown): Promise<AdminProposal> {
    const result = await this.transactions.run(async (m) => {
      const p = await this.lockPending(m, id);
      if (p === 'void') return null;
      // The CHECK refuses decided_by = proposed_by: the proposer's withdrawal is recorded without a decider.
      await this.close(m, p, 'rejected', p.proposedBy === who.userId ? null : who, reason, undefined, requestBody, who.name);
      return p;
    });
    if (!result) throw new ProposalNotPending(await this.get(id));
    return result;
  }

  async get(id: string): Promise<AdminProposal> {
    const p = await this.proposals.findById(id);
    if (!p) throw new NotFound('proposal', id);
    return p;
  }

  list(state: string | undefined, limit: number, after?: { at: string; id: string }): Promise<AdminProposal[]> {
    return this.proposals.list(state, limit, after);
  }

  private async open(
    m: DbTransaction,
    kind: AdminProposalKind,
    target: string | null,
    payload: Record<string, unknown>,
    grants: Role[],
    who: Principal,
    requestBody?: unknown,
  ): Promise<AdminProposal> {
    const now = this.clock.now();
    const p = await this.proposals.insert(m, {
      kind,
      targetUserId: target,
      payload,
      grants,
      state: 'pending',
      proposedBy: who.userId,
      proposedByName: who.name,
      proposedAt: now,
      expiresAt: new Date(now.getTime() + this.config.auth.proposalTtlHours * 3_600_000),
      decidedBy: null,
      decidedByName: null,
      decidedAt: null,
      decisionReason: null,
    });
    await this.audit.record(
      {
        actor: who.name,
        action: 'admin_proposal.open',
        entityType: 'admin_proposal',
        entityId: p.id,
        toState: 'pending',
        details: { kind, target_user_id: target, payload, grants },
        requestBody,
      },
      m,
    );
    // Every other admin is told it waits for them, in the transaction that opens it (the outbox).
    await enqueueNotification(m, now, proposalWaitingEvent({ id: p.id, action: kind, proposerId: who.userId, proposerName: who.name }));
    return p;
  }

  /** Locks a pending proposal; an expired one is voided (committed) and answered 'void'. */
  private async lockPending(m: DbTransaction, id: string): Promise<AdminProposal | 'void'> {
    const p = await this.proposals.lock(m, id);
    if (!p) throw new NotFound('proposal', id);
    if (p.state !== 'pending') throw new ProposalNotPending(p);
    if (p.expiresAt.getTime() <= this.clock.nowMs()) {
      await this.close(m, p, 'void', null, `not approved by ${p.expiresAt.toISOString()}`);
      return 'void';
    }
    return p;
  }

  private async close(
    m: DbTransaction,
    p: AdminProposal,
    state: 'applied' | 'rejected' | 'void',
    who: Principal | null,
    reason: string | null,
    effect?: Record<string, unknown>,
    requestBody?: unknown,
    actorName?: string,
  ): Promise<void> {
    p.state = state;
    p.decidedBy = who?.userId ?? null;
    p.decidedByName = who?.name ?? actorName ?? null;
    p.decidedAt = this.clock.now();
    p.decisionReason = reason;
    await this.proposals.save(m, p);
    const action = state === 'applied' ? 'admin_proposal.approve' : state === 'rejected' ? 'admin_proposal.reject' : 'admin_proposal.void';
    await this.audit.record(
      {
        actor: who?.name ?? actorName ?? 'system',
        action,
        entityType: 'admin_proposal',
        entityId: p.id,
        fromState: 'pending',
        toState: state,
        reason,
        details: { kind: p.kind, proposed_by: p.proposedByName, effect: effect ?? null },
        requestBody,
      },
      m,
    );
  }

  private async apply(m: DbTransaction, p: AdminProposal, actor: string, requestBody: unknown): Promise<Record<string, unknown>> {
    switch (p.kind) {
      case 'user.create': {
        const payload = p.payload as { name: string; roles: Role[] };
        const user = await this.users.createUser(payload.name, payload.roles, actor, 'person', m);
        await this.users.attachInvitations(m, p.id, user.id);
        // From now on the proposal names the user it created (the withdrawal rule on granted approvers reads it).
        p.targetUserId = user.id;
        return { user_id: user.id, name: user.name, roles: user.roles };
      }
      case 'user.grant_roles': {
        const user = await this.users.applyGrant(m, p.targetUserId as string, (p.payload as { roles: Role[] }).roles, actor, p.id);
        return { user_id: user.id, roles: user.roles };
      }
      case 'user.enable': {
        const { user } = await this.users.applyEnable(m, p.targetUserId as string, actor, p.id);
        return { user_id: user.id, enabled: true };
      }
      case 'withdrawal_policy.change': {
        const payload = p.payload as { policy: PolicySnapshotJson; based_on_version: number };
        const terms = policyFromSnapshot(payload.policy);
        const stored = await this.policies.replaceWithin(
          m,
          terms,
          actor,
          `proposal ${p.id} approved`,
          requestBody,
          payload.based_on_version,
        );
        return { policy_version: stored.version };
      }
      default:
        throw new BusinessRuleViolation('PROPOSAL_KIND_UNKNOWN', `proposal kind ${String(p.kind)} is unknown`);
    }
  }
}
