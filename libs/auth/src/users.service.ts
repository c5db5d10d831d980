import { Inject, Injectable, Optional } from '@nestjs/common';
import { type AuditEvent, AuditService } from '@app/audit';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig } from '@app/config';
import {
  type ApiToken,
  type AppUser,
  type DbTransaction,
  DbTransactions,
  PRIVILEGED_ROLES,
  type UserInvitation,
  type UserKind,
} from '@app/db';
import { BusinessRuleViolation, Conflict, DomainError, NotFound } from '@app/errors';
import { ApiTokenRepository } from './api-token.repository';
import type { Principal } from './principal';
import type { Role } from './roles';
import { generateApiToken, generateInvitationCode, hashApiToken, looksLikeApiToken, looksLikeInvitationCode } from './token-hash';
import { UserInvitationRepository } from './user-invitation.repository';
import { UserRepository } from './user.repository';
import { VerifiedTokenCache } from './verified-token-cache';

export class UserNameTakenError extends Conflict {
  constructor(name: string) {
    super('USER_NAME_TAKEN', `a user named '${name}' already exists`);
  }
}

export class TokenForAnotherPerson extends DomainError {
  constructor(userId: string) {
    super(
      'TOKEN_FOR_ANOTHER_PERSON',
      'forbidden',
      `user ${userId} is a person (or holds approver/admin): nobody makes a token for another person; they redeem an invitation and make their own (POST /me/tokens)`,
      { user_id: userId },
    );
  }
}

export class ServiceAccountPrivileged extends BusinessRuleViolation {
  constructor(roles: readonly string[]) {
    super('SERVICE_ACCOUNT_PRIVILEGED', `a service account never holds approver or admin (asked: ${roles.join(', ')})`, { roles });
  }
}

export class InvitationRefused extends DomainError {
  constructor(code: string, kind: 'unauthenticated' | 'conflict', message: string, details?: unknown) {
    super(code, kind, message, details);
  }
}

export class UserDisabled extends Conflict {
  constructor(id: string) {
    super('USER_DISABLED', `user ${id} is disabled`, { user_id: id });
  }
}

export interface IssuedToken {
  token: string;
  record: ApiToken;
}

export interface IssuedInvitation {
  code: string;
  record: UserInvitation;
}

export interface RedeemedInvitation {
  user: AppUser;
  invitation: UserInvitation;
  issued: IssuedToken;
}

/** The audit event of a change of a user's state (roles, disabled or not), `from` -> `to`. */
function userTransition(
  actor: string,
  action: string,
  userId: string,
  [from, to]: [string, string],
  details: Record<string, unknown>,
): AuditEvent {
  return { actor, action, entityType: 'user', entityId: userId, fromState: from, toState: to, details };
}

export const isPrivileged = (roles: readonly string[]) => roles.some((r) => (PRIVILEGED_ROLES as readonly string[]).includes(r));

/**
 * Users, their tokens and invitations. Every change is audited. The API's rules of dual control
 * (AdminProposals in the API) sit on top: this service applies a change once it is allowed. The
 * low-level `createUser` / `issueToken` are the CLI's (whoever runs it holds the database anyway).
 * A method taking a transaction (`tx`) writes in it, so the caller's change commits with this one.
 */
@Injectable()
export class UsersService {
  /** Token id -> when this process last wrote its last_used_at (epoch ms). */
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(
    private readonly transactions: DbTransactions,
    private readonly users: UserRepository,
    private readonly tokens: ApiTokenRepository,
    private readonly invitations: UserInvitationRepository,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    // The API's (AuthModule); the CLI has none and asks the database every time.
    @Optional() private readonly verifiedTokens?: VerifiedTokenCache,
  ) {}

  /** After a change of tokens or users committed here: this process forgets at once, without waiting for its NOTIFY. */
  private forgetVerifiedTokens<T>(result: T): T {
    this.verifiedTokens?.invalidate('changed by this process');
    return result;
  }

  /** Runs `work` in the caller's transaction when there is one, else in a new one. */
  private within<T>(tx: DbTransaction | undefined, work: (tx: DbTransaction) => Promise<T>): Promise<T> {
    return tx ? work(tx) : this.transactions.run(work);
  }

  /** Creates a user at once (the CLI, an admin's unprivileged person or service account, an approved proposal). */
  async createUser(name: string, roles: Role[], actor: string, kind: UserKind = 'person', tx?: DbTransaction): Promise<AppUser> {
    if (kind === 'service' && isPrivileged(roles)) throw new ServiceAccountPrivileged(roles);
    return this.within(tx, async (t) => {
      await this.assertNameFree(name, t);
      const user = await this.users.create(t, { name, roles, kind });
      await this.audit.record(
        { actor, action: 'user.create', entityType: 'user', entityId: user.id, toState: 'active', details: { name, roles, kind } },
        t,
      );
      return user;
    });
  }

  async assertNameFree(name: string, tx?: DbTransaction): Promise<void> {
    if (await this.users.findByName(name, tx)) throw new UserNameTakenError(name);
  }

  /** The CLI's token issuance (service accounts; tests' factories). The API never calls this for a person. */
  async issueToken(userId: string, label: string, actor: string, issuedBy = 'cli', tx?: DbTransaction): Promise<IssuedToken> {
    return this.within(tx, async (t) => {
      const user = await this.users.findById(userId, t);
      if (!user) throw new NotFound('user', userId);
      if (user.disabledAt) throw new UserDisabled(userId);
      const token = generateApiToken();
      const now = this.clock.now();
      const record = await this.tokens.insert(t, {
        createdAt: now,
        userId,
        label,
        tokenPrefix: token.slice(0, 8),
        tokenHash: hashApiToken(token),
        lastUsedAt: null,
        revokedAt: null,
        expiresAt: new Date(now.getTime() + this.config.auth.tokenTtlDays * 86_400_000),
        issuedBy,
      });
      await this.audit.record(
        {
          actor,
          action: 'token.issue',
          entityType: 'api_token',
          entityId: record.id,
          toState: 'active',
          details: { user_id: userId, label, issued_by: issuedBy, expires_at: record.expiresAt.toISOString() },
        },
        t,
      );
      return { token, record };
    });
  }

  /** A token for the caller themselves (POST /me/tokens). */
  issueOwnToken(who: Principal, label: string): Promise<IssuedToken> {
    return this.issueToken(who.userId, label, who.name, 'self');
  }

  /** An admin's token for a service account (no approver, no admin role, never a person, never oneself). */
  async issueServiceToken(userId: string, label: string, who: Principal): Promise<IssuedToken> {
    return this.transactions.run(async (tx) => {
      const user = await this.users.lock(tx, userId);
      if (!user) throw new NotFound('user', userId);
      if (user.kind !== 'service' || isPrivileged(user.roles) || user.id === who.userId) throw new TokenForAnotherPerson(userId);
      return this.issueToken(userId, label, who.name, `admin:${who.userId}`, tx);
    });
  }

  /** The owner revokes their own token; an admin may revoke anyone's (removing access is never dual-controlled). */
  async revokeToken(tokenId: string, actor: string, who?: Principal): Promise<ApiToken> {
    const revoked = await this.transactions.run(async (tx) => {
      const record = await this.tokens.lock(tx, tokenId);
      if (!record || (who && record.userId !== who.userId && !who.roles.includes('admin'))) throw new NotFound('token', tokenId);
      if (record.revokedAt) return record;
      record.revokedAt = this.clock.now();
      await this.tokens.save(tx, record);
      await this.audit.record(
        {
          actor,
          action: 'token.revoke',
          entityType: 'api_token',
          entityId: tokenId,
          fromState: 'active',
          toState: 'revoked',
          details: { user_id: record.userId },
        },
        tx,
      );
      return record;
    });
    return this.forgetVerifiedTokens(revoked);
  }

  /**
   * A one-time invitation: the code is returned once, only its hash is kept. `userId` null: the user
   * is a proposal not approved yet (the code is redeemable once the user exists).
   */
  async issueInvitation(
    tx: DbTransaction,
    target: { userId: string | null; proposalId: string | null },
    issuer: Principal | 'cli',
  ): Promise<IssuedInvitation> {
    const issuedBy = issuer === 'cli' ? 'cli' : issuer.name;
    const code = generateInvitationCode();
    const now = this.clock.now();
    const record = await this.invitations.insert(tx, {
      userId: target.userId,
      proposalId: target.proposalId,
      codeHash: hashApiToken(code),
      issuedAt: now,
      issuedBy,
      issuedToUserId: issuer === 'cli' ? null : issuer.userId,
      expiresAt: new Date(now.getTime() + this.config.auth.invitationTtlHours * 3_600_000),
      redeemedAt: null,
      revokedAt: null,
      tokenId: null,
    });
    await this.audit.record(
      {
        actor: issuedBy,
        action: 'invitation.issue',
        entityType: 'invitation',
        entityId: record.id,
        toState: target.userId ? 'redeemable' : 'awaiting_approval',
        details: { user_id: target.userId, proposal_id: target.proposalId, expires_at: record.expiresAt.toISOString() },
      },
      tx,
    );
    return { code, record };
  }

  /** The user a proposal created takes over the invitation issued with the proposal. */
  async attachInvitations(tx: DbTransaction, proposalId: string, userId: string): Promise<void> {
    await this.invitations.attachToUser(tx, proposalId, userId);
  }

  /** A new invitation for a person who never redeemed one (the previous expired); never for someone who already has their credential. */
  async reinvite(userId: string, who: Principal): Promise<IssuedInvitation> {
    return this.transactions.run(async (tx) => {
      const user = await this.users.lock(tx, userId);
      if (!user) throw new NotFound('user', userId);
      if (user.disabledAt) throw new UserDisabled(userId);
      if (user.kind !== 'person')
        throw new BusinessRuleViolation('NOT_A_PERSON', `user ${userId} is a service account: an admin issues its tokens`, {
          user_id: userId,
        });
      const redeemed = await this.invitations.countRedeemedBy(tx, userId);
      const tokens = await this.tokens.countOf(tx, userId);
      if (redeemed > 0 || tokens > 0) {
        throw new Conflict(
          'PERSON_ALREADY_ARRIVED',
          `user ${userId} already made their own credential: nobody else gets one for them (they make new tokens themselves)`,
          { user_id: userId },
        );
      }
      await this.invitations.revokeOpen(tx, userId, this.clock.now());
      return this.issueInvitation(tx, { userId, proposalId: null }, who);
    });
  }

  /**
   * The invitee makes their own first token. The code is consumed by one conditional UPDATE (two
   * concurrent redemptions: one wins). The answer says when and by whom the invitation was issued.
   */
  async redeemInvitation(code: string, label: string): Promise<RedeemedInvitation> {
    if (!looksLikeInvitationCode(code))
      throw new InvitationRefused('INVITATION_UNKNOWN', 'unauthenticated', 'this invitation code is unknown');
    const hash = hashApiToken(code);
    return this.transactions.run(async (tx) => {
      const invitation = await this.invitations.lockByCodeHash(tx, hash);
      if (!invitation) throw new InvitationRefused('INVITATION_UNKNOWN', 'unauthenticated', 'this invitation code is unknown');
      const facts = {
        issued_at: invitation.issuedAt.toISOString(),
        issued_by: invitation.issuedBy,
        expires_at: invitation.expiresAt.toISOString(),
      };
      if (invitation.redeemedAt) {
        // Whoever holds the code now learns that someone redeemed it before them: report it.
        throw new InvitationRefused(
          'INVITATION_ALREADY_REDEEMED',
          'conflict',
          `this invitation was already redeemed at ${invitation.redeemedAt.toISOString()}: if that was not you, tell an admin now`,
          {
            ...facts,
            redeemed_at: invitation.redeemedAt.toISOString(),
          },
        );
      }
      if (invitation.revokedAt) throw new InvitationRefused('INVITATION_REVOKED', 'conflict', 'this invitation was withdrawn', facts);
      if (invitation.expiresAt.getTime() <= this.clock.nowMs())
        throw new InvitationRefused('INVITATION_EXPIRED', 'conflict', `this invitation expired at ${facts.expires_at}`, facts);
      if (!invitation.userId) {
        throw new InvitationRefused(
          'INVITATION_AWAITING_APPROVAL',
          'conflict',
          'the user this invitation is for is a proposal a second admin has not approved yet',
          { ...facts, proposal_id: invitation.proposalId },
        );
      }
      const user = await this.users.findById(invitation.userId, tx);
      if (!user || user.disabledAt)
        throw new InvitationRefused('INVITATION_REVOKED', 'conflict', 'the user this invitation is for is disabled', facts);
      const issued = await this.issueToken(user.id, label, user.name, 'invitation', tx);
      await this.invitations.markRedeemed(tx, invitation, this.clock.now(), issued.record.id);
      await this.audit.record(
        {
          actor: user.name,
          action: 'invitation.redeem',
          entityType: 'invitation',
          entityId: invitation.id,
          fromState: 'redeemable',
          toState: 'redeemed',
          details: { user_id: user.id, token_id: issued.record.id, ...facts },
        },
        tx,
      );
      return { user, invitation, issued };
    });
  }

  /** Immediate changes (safety first): roles removed, unprivileged roles added, disabling. Privileged grants and re-enabling go through a proposal. */
  async changeNow(userId: string, change: { removeRoles: Role[]; addRoles: Role[]; disable: boolean }, who: Principal): Promise<AppUser> {
    if (isPrivileged(change.addRoles)) throw new Error('privileged roles are granted only by an approved proposal');
    const changed = await this.transactions.run(async (tx) => {
      const user = await this.users.lock(tx, userId);
      if (!user) throw new NotFound('user', userId);
      const before = [...user.roles];
      const roles = [...new Set([...user.roles.filter((r) => !change.removeRoles.includes(r)), ...change.addRoles])] as Role[];
      if (roles.join(',') !== before.join(',')) {
        user.roles = roles;
        await this.users.save(tx, user);
        await this.audit.record(
          userTransition(who.name, 'user.roles', userId, [before.join(','), roles.join(',')], {
            removed: change.removeRoles,
            added: change.addRoles,
          }),
          tx,
        );
      }
      if (change.disable && !user.disabledAt) await this.disableIn(tx, user, who.name);
      return user;
    });
    return this.forgetVerifiedTokens(changed);
  }

  /** Disabling revokes every token and open invitation of the user in the same transaction. */
  private async disableIn(tx: DbTransaction, user: AppUser, actor: string): Promise<void> {
    const now = this.clock.now();
    user.disabledAt = now;
    await this.users.save(tx, user);
    const revoked = await this.tokens.revokeAllOf(tx, user.id, now);
    await this.invitations.revokeOpen(tx, user.id, now);
    await this.audit.record(userTransition(actor, 'user.disable', user.id, ['active', 'disabled'], { tokens_revoked: revoked }), tx);
  }

  /** An approved proposal's grant of roles. */
  async applyGrant(tx: DbTransaction, userId: string, roles: Role[], actor: string, proposalId: string): Promise<AppUser> {
    const user = await this.users.lock(tx, userId);
    if (!user) throw new NotFound('user', userId);
    if (user.disabledAt) throw new UserDisabled(userId);
    if (user.kind === 'service' && isPrivileged(roles)) throw new ServiceAccountPrivileged(roles);
    const before = [...user.roles];
    user.roles = [...new Set([...user.roles, ...roles])] as Role[];
    await this.users.save(tx, user);
    await this.audit.record(
      userTransition(actor, 'user.roles', userId, [before.join(','), user.roles.join(',')], { added: roles, proposal_id: proposalId }),
      tx,
    );
    return user;
  }

  /** An approved proposal's re-enabling (the user's old tokens stay revoked: they make new ones, or get a new invitation). */
  async applyEnable(
    tx: DbTransaction,
    userId: string,
    actor: string,
    proposalId: string,
  ): Promise<{ user: AppUser; invitation: IssuedInvitation | null }> {
    const user = await this.users.lock(tx, userId);
    if (!user) throw new NotFound('user', userId);
    if (!user.disabledAt) return { user, invitation: null };
    user.disabledAt = null;
    await this.users.save(tx, user);
    await this.audit.record(userTransition(actor, 'user.enable', userId, ['disabled', 'active'], { proposal_id: proposalId }), tx);
    return { user, invitation: null };
  }

  findUser(id: string, tx?: DbTransaction): Promise<AppUser | null> {
    return this.users.findById(id, tx);
  }

  async listUsers(): Promise<Array<AppUser & { tokens: ApiToken[] }>> {
    const users = await this.users.list();
    const tokens = await this.tokens.list();
    return users.map((u) => Object.assign(u, { tokens: tokens.filter((t) => t.userId === u.id) }));
  }

  listOwnTokens(userId: string): Promise<ApiToken[]> {
    return this.tokens.listOf(userId);
  }

  /**
   * The CLI's bootstrap: the first two admins (or the missing one, when fewer than two active admins
   * remain and no proposal can be approved). Each gets a one-time invitation, never a token. Refused
   * once two active admins exist: from then on, admins come from approved proposals only.
   */
  async bootstrapAdmins(names: string[]): Promise<Array<{ user: AppUser; invitation: IssuedInvitation }>> {
    return this.transactions.run(async (tx) => {
      await this.users.lockAdminBootstrap(tx);
      const active = await this.activeAdmins(tx);
      if (active.length + names.length > 2 || names.length === 0) {
        throw new Conflict(
          'ADMINS_ALREADY_BOOTSTRAPPED',
          `there are ${active.length} active admin(s); the CLI only creates admins up to two (asked for ${names.length}); further admins are proposals a second admin approves`,
        );
      }
      const out: Array<{ user: AppUser; invitation: IssuedInvitation }> = [];
      for (const name of names) {
        const user = await this.createUser(name, ['admin'], 'cli', 'person', tx);
        out.push({ user, invitation: await this.issueInvitation(tx, { userId: user.id, proposalId: null }, 'cli') });
      }
      return out;
    });
  }

  /** Active admins (for the CLI's bootstrap). */
  async activeAdmins(tx?: DbTransaction): Promise<AppUser[]> {
    const rows = await this.users.activePeople(tx);
    return rows.filter((u) => u.roles.includes('admin'));
  }

  /** Resolves a bearer token to its principal, or null when unknown, revoked, expired or its user disabled. */
  async authenticate(token: string): Promise<Principal | null> {
    if (!looksLikeApiToken(token)) return null;
    const now = this.clock.now();
    const hash = hashApiToken(token);
    const cached = this.verifiedTokens?.get(hash);
    if (cached?.tokenId) {
      this.noteUse(cached.tokenId, now);
      return cached;
    }
    const generation = this.verifiedTokens?.generation ?? 0;
    const row = await this.tokens.findValid(hash, now);
    if (!row) return null;
    this.noteUse(row.token_id, now);
    const principal: Principal = { userId: row.user_id, name: row.name, roles: row.roles, tokenId: row.token_id };
    this.verifiedTokens?.remember(hash, principal, generation, row.expires_at);
    return principal;
  }

  private noteUse(tokenId: string, now: Date): void {
    // Last-used is kept to the minute: one write per token per minute, not one per request. This
    // process remembers when it last wrote a token's time, so a request within the minute sends no
    // statement at all (the UPDATE's own condition still keeps several processes to one write a minute).
    const written = this.lastUsedWritten.get(tokenId);
    if (written === undefined || now.getTime() - written >= 60_000 || now.getTime() < written) {
      if (this.lastUsedWritten.size >= 10_000) this.lastUsedWritten.clear();
      this.lastUsedWritten.set(tokenId, now.getTime());
      void this.tokens.touchLastUsed(tokenId, now).catch(() => this.lastUsedWritten.delete(tokenId));
    }
  }

  findUserByName(name: string): Promise<AppUser | null> {
    return this.users.findActiveByName(name);
  }
}
