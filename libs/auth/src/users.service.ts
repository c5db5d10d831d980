import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AuditService } from '@app/audit';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { AdvisoryLocks, ApiToken, AppUser, lockForTransaction, PRIVILEGED_ROLES, UserInvitation, type UserKind } from '@app/db';
import { BusinessRuleViolation, Conflict, DomainError, NotFound } from '@app/errors';
import { DataSource, type EntityManager, In, IsNull, Not } from 'typeorm';
import type { Principal } from './principal';
import type { Role } from './roles';
import { generateApiToken, generateInvitationCode, hashApiToken, looksLikeApiToken, looksLikeInvitationCode } from './token-hash';

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

export const isPrivileged = (roles: readonly string[]) => roles.some((r) => (PRIVILEGED_ROLES as readonly string[]).includes(r));

/**
 * Users, their tokens and invitations. Every change is audited. The API's rules of dual control
 * (AdminProposals in the API) sit on top: this service applies a change once it is allowed. The
 * low-level `createUser` / `issueToken` are the CLI's (whoever runs it holds the database anyway).
 */
@Injectable()
export class UsersService {
  /** Token id -> when this process last wrote its last_used_at (epoch ms). */
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Creates a user at once (the CLI, an admin's unprivileged person or service account, an approved proposal). */
  async createUser(name: string, roles: Role[], actor: string, kind: UserKind = 'person', m?: EntityManager): Promise<AppUser> {
    if (kind === 'service' && isPrivileged(roles)) throw new ServiceAccountPrivileged(roles);
    const work = async (tx: EntityManager) => {
      const existing = await tx.findOneBy(AppUser, { name });
      if (existing) throw new UserNameTakenError(name);
      const user = await tx.save(tx.create(AppUser, { name, roles, kind, disabledAt: null }));
      await this.audit.record(
        { actor, action: 'user.create', entityType: 'user', entityId: user.id, toState: 'active', details: { name, roles, kind } },
        tx,
      );
      return user;
    };
    return m ? work(m) : this.dataSource.transaction(work);
  }

  async assertNameFree(name: string, m?: EntityManager): Promise<void> {
    if (await (m ?? this.dataSource.manager).findOneBy(AppUser, { name })) throw new UserNameTakenError(name);
  }

  /** The CLI's token issuance (service accounts; tests' factories). The API never calls this for a person. */
  async issueToken(userId: string, label: string, actor: string, issuedBy = 'cli', m?: EntityManager): Promise<IssuedToken> {
    const work = async (tx: EntityManager) => {
      const user = await tx.findOneBy(AppUser, { id: userId });
      if (!user) throw new NotFound('user', userId);
      if (user.disabledAt) throw new UserDisabled(userId);
      const token = generateApiToken();
      const now = this.clock.now();
      const record = await tx.save(
        tx.create(ApiToken, {
          createdAt: now,
          userId,
          label,
          tokenPrefix: token.slice(0, 8),
          tokenHash: hashApiToken(token),
          lastUsedAt: null,
          revokedAt: null,
          expiresAt: new Date(now.getTime() + this.config.auth.tokenTtlDays * 86_400_000),
          issuedBy,
        }),
      );
      await this.audit.record(
        {
          actor,
          action: 'token.issue',
          entityType: 'api_token',
          entityId: record.id,
          toState: 'active',
          details: { user_id: userId, label, issued_by: issuedBy, expires_at: record.expiresAt.toISOString() },
        },
        tx,
      );
      return { token, record };
    };
    return m ? work(m) : this.dataSource.transaction(work);
  }

  /** A token for the caller themselves (POST /me/tokens). */
  issueOwnToken(who: Principal, label: string): Promise<IssuedToken> {
    return this.issueToken(who.userId, label, who.name, 'self');
  }

  /** An admin's token for a service account (no approver, no admin role, never a person, never oneself). */
  async issueServiceToken(userId: string, label: string, who: Principal): Promise<IssuedToken> {
    return this.dataSource.transaction(async (m) => {
      const user = await m.findOne(AppUser, { where: { id: userId }, lock: { mode: 'pessimistic_write' } });
      if (!user) throw new NotFound('user', userId);
      if (user.kind !== 'service' || isPrivileged(user.roles) || user.id === who.userId) throw new TokenForAnotherPerson(userId);
      return this.issueToken(userId, label, who.name, `admin:${who.userId}`, m);
    });
  }

  /** The owner revokes their own token; an admin may revoke anyone's (removing access is never dual-controlled). */
  async revokeToken(tokenId: string, actor: string, who?: Principal): Promise<ApiToken> {
    return this.dataSource.transaction(async (m) => {
      const record = await m.findOne(ApiToken, { where: { id: tokenId }, lock: { mode: 'pessimistic_write' } });
      if (!record || (who && record.userId !== who.userId && !who.roles.includes('admin'))) throw new NotFound('token', tokenId);
      if (record.revokedAt) return record;
      record.revokedAt = this.clock.now();
      await m.save(record);
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
        m,
      );
      return record;
    });
  }

  /**
   * A one-time invitation: the code is returned once, only its hash is kept. `userId` null: the user
   * is a proposal not approved yet (the code is redeemable once the user exists).
   */
  async issueInvitation(
    m: EntityManager,
    target: { userId: string | null; proposalId: string | null },
    issuer: Principal | 'cli',
  ): Promise<IssuedInvitation> {
    const issuedBy = issuer === 'cli' ? 'cli' : issuer.name;
    const code = generateInvitationCode();
    const now = this.clock.now();
    const record = await m.save(
      m.create(UserInvitation, {
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
      }),
    );
    await this.audit.record(
      {
        actor: issuedBy,
        action: 'invitation.issue',
        entityType: 'invitation',
        entityId: record.id,
        toState: target.userId ? 'redeemable' : 'awaiting_approval',
        details: { user_id: target.userId, proposal_id: target.proposalId, expires_at: record.expiresAt.toISOString() },
      },
      m,
    );
    return { code, record };
  }

  /** The user a proposal created takes over the invitation issued with the proposal. */
  async attachInvitations(m: EntityManager, proposalId: string, userId: string): Promise<void> {
    await m.update(UserInvitation, { proposalId, userId: IsNull() }, { userId });
  }

  /** A new invitation for a person who never redeemed one (the previous expired); never for someone who already has their credential. */
  async reinvite(userId: string, who: Principal): Promise<IssuedInvitation> {
    return this.dataSource.transaction(async (m) => {
      const user = await m.findOne(AppUser, { where: { id: userId }, lock: { mode: 'pessimistic_write' } });
      if (!user) throw new NotFound('user', userId);
      if (user.disabledAt) throw new UserDisabled(userId);
      if (user.kind !== 'person')
        throw new BusinessRuleViolation('NOT_A_PERSON', `user ${userId} is a service account: an admin issues its tokens`, {
          user_id: userId,
        });
      const redeemed = await m.count(UserInvitation, { where: { userId, redeemedAt: Not(IsNull()) } });
      const tokens = await m.count(ApiToken, { where: { userId } });
      if (redeemed > 0 || tokens > 0) {
        throw new Conflict(
          'PERSON_ALREADY_ARRIVED',
          `user ${userId} already made their own credential: nobody else gets one for them (they make new tokens themselves)`,
          { user_id: userId },
        );
      }
      await m.update(UserInvitation, { userId, redeemedAt: IsNull(), revokedAt: IsNull() }, { revokedAt: this.clock.now() });
      return this.issueInvitation(m, { userId, proposalId: null }, who);
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
    return this.dataSource.transaction(async (m) => {
      const invitation = await m.findOne(UserInvitation, { where: { codeHash: hash }, lock: { mode: 'pessimistic_write' } });
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
      const user = await m.findOneBy(AppUser, { id: invitation.userId });
      if (!user || user.disabledAt)
        throw new InvitationRefused('INVITATION_REVOKED', 'conflict', 'the user this invitation is for is disabled', facts);
      const issued = await this.issueToken(user.id, label, user.name, 'invitation', m);
      invitation.redeemedAt = this.clock.now();
      invitation.tokenId = issued.record.id;
      await m.save(invitation);
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
        m,
      );
      return { user, invitation, issued };
    });
  }

  /** Immediate changes (safety first): roles removed, unprivileged roles added, disabling. Privileged grants and re-enabling go through a proposal. */
  async changeNow(userId: string, change: { removeRoles: Role[]; addRoles: Role[]; disable: boolean }, who: Principal): Promise<AppUser> {
    if (isPrivileged(change.addRoles)) throw new Error('privileged roles are granted only by an approved proposal');
    return this.dataSource.transaction(async (m) => {
      const user = await m.findOne(AppUser, { where: { id: userId }, lock: { mode: 'pessimistic_write' } });
      if (!user) throw new NotFound('user', userId);
      const before = [...user.roles];
      const roles = [...new Set([...user.roles.filter((r) => !change.removeRoles.includes(r)), ...change.addRoles])] as Role[];
      if (roles.join(',') !== before.join(',')) {
        user.roles = roles;
        await m.save(user);
        await this.audit.record(
          {
            actor: who.name,
            action: 'user.roles',
            entityType: 'user',
            entityId: userId,
            fromState: before.join(','),
            toState: roles.join(','),
            details: { removed: change.removeRoles, added: change.addRoles },
          },
          m,
        );
      }
      if (change.disable && !user.disabledAt) await this.disableIn(m, user, who.name);
      return user;
    });
  }

  /** Disabling revokes every token and open invitation of the user in the same transaction. */
  private async disableIn(m: EntityManager, user: AppUser, actor: string): Promise<void> {
    const now = this.clock.now();
    user.disabledAt = now;
    await m.save(user);
    const revoked = await m.update(ApiToken, { userId: user.id, revokedAt: IsNull() }, { revokedAt: now });
    await m.update(UserInvitation, { userId: user.id, redeemedAt: IsNull(), revokedAt: IsNull() }, { revokedAt: now });
    await this.audit.record(
      {
        actor,
        action: 'user.disable',
        entityType: 'user',
        entityId: user.id,
        fromState: 'active',
        toState: 'disabled',
        details: { tokens_revoked: revoked.affected ?? 0 },
      },
      m,
    );
  }

  /** An approved proposal's grant of roles. */
  async applyGrant(m: EntityManager, userId: string, roles: Role[], actor: string, proposalId: string): Promise<AppUser> {
    const user = await m.findOne(AppUser, { where: { id: userId }, lock: { mode: 'pessimistic_write' } });
    if (!user) throw new NotFound('user', userId);
    if (user.disabledAt) throw new UserDisabled(userId);
    if (user.kind === 'service' && isPrivileged(roles)) throw new ServiceAccountPrivileged(roles);
    const before = [...user.roles];
    user.roles = [...new Set([...user.roles, ...roles])] as Role[];
    await m.save(user);
    await this.audit.record(
      {
        actor,
        action: 'user.roles',
        entityType: 'user',
        entityId: userId,
        fromState: before.join(','),
        toState: user.roles.join(','),
        details: { added: roles, proposal_id: proposalId },
      },
      m,
    );
    return user;
  }

  /** An approved proposal's re-enabling (the user's old tokens stay revoked: they make new ones, or get a new invitation). */
  async applyEnable(
    m: EntityManager,
    userId: string,
    actor: string,
    proposalId: string,
  ): Promise<{ user: AppUser; invitation: IssuedInvitation | null }> {
    const user = await m.findOne(AppUser, { where: { id: userId }, lock: { mode: 'pessimistic_write' } });
    if (!user) throw new NotFound('user', userId);
    if (!user.disabledAt) return { user, invitation: null };
    user.disabledAt = null;
    await m.save(user);
    await this.audit.record(
      {
        actor,
        action: 'user.enable',
        entityType: 'user',
        entityId: userId,
        fromState: 'disabled',
        toState: 'active',
        details: { proposal_id: proposalId },
      },
      m,
    );
    return { user, invitation: null };
  }

  async findUser(id: string, m?: EntityManager): Promise<AppUser | null> {
    return (m ?? this.dataSource.manager).findOneBy(AppUser, { id });
  }

  async listUsers(): Promise<Array<AppUser & { tokens: ApiToken[] }>> {
    const users = await this.dataSource.getRepository(AppUser).find({ order: { createdAt: 'ASC', id: 'ASC' } });
    const tokens = await this.dataSource.getRepository(ApiToken).find({ order: { createdAt: 'ASC' } });
    return users.map((u) => Object.assign(u, { tokens: tokens.filter((t) => t.userId === u.id) }));
  }

  listOwnTokens(userId: string): Promise<ApiToken[]> {
    return this.dataSource.getRepository(ApiToken).find({ where: { userId }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /**
   * The CLI's bootstrap: the first two admins (or the missing one, when fewer than two active admins
   * remain and no proposal can be approved). Each gets a one-time invitation, never a token. Refused
   * once two active admins exist: from then on, admins come from approved proposals only.
   */
  async bootstrapAdmins(names: string[]): Promise<Array<{ user: AppUser; invitation: IssuedInvitation }>> {
    return this.dataSource.transaction(async (m) => {
      await lockForTransaction(m, AdvisoryLocks.adminBootstrap);
      const active = await this.activeAdmins(m);
      if (active.length + names.length > 2 || names.length === 0) {
        throw new Conflict(
          'ADMINS_ALREADY_BOOTSTRAPPED',
          `there are ${active.length} active admin(s); the CLI only creates admins up to two (asked for ${names.length}); further admins are proposals a second admin approves`,
        );
      }
      const out: Array<{ user: AppUser; invitation: IssuedInvitation }> = [];
      for (const name of names) {
        const user = await this.createUser(name, ['admin'], 'cli', 'person', m);
        out.push({ user, invitation: await this.issueInvitation(m, { userId: user.id, proposalId: null }, 'cli') });
      }
      return out;
    });
  }

  /** Active admins (for the CLI's bootstrap). */
  async activeAdmins(m?: EntityManager): Promise<AppUser[]> {
    const rows = await (m ?? this.dataSource.manager).find(AppUser, { where: { disabledAt: IsNull(), kind: In(['person']) } });
    return rows.filter((u) => u.roles.includes('admin'));
  }

  /** Resolves a bearer token to its principal, or null when unknown, revoked, expired or its user disabled. */
  async authenticate(token: string): Promise<Principal | null> {
    if (!looksLikeApiToken(token)) return null;
    const now = this.clock.now();
    const rows = (await this.dataSource.query(
      `SELECT t.id AS token_id, u.id AS user_id, u.name, u.roles
         FROM api_token t JOIN app_user u ON u.id = t.user_id
        WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2 AND u.disabled_at IS NULL`,
      [hashApiToken(token), now],
    )) as Array<{ token_id: string; user_id: string; name: string; roles: Role[] }>;
    if (rows.length === 0) return null;
    const row = rows[0];
    // Last-used is kept to the minute: one write per token per minute, not one per request. This
    // process remembers when it last wrote a token's time, so a request within the minute sends no
    // statement at all (the UPDATE's own condition still keeps several processes to one write a minute).
    const written = this.lastUsedWritten.get(row.token_id);
    if (written === undefined || now.getTime() - written >= 60_000 || now.getTime() < written) {
      if (this.lastUsedWritten.size >= 10_000) this.lastUsedWritten.clear();
      this.lastUsedWritten.set(row.token_id, now.getTime());
      void this.dataSource
        .query(
          `UPDATE api_token SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2::timestamptz - interval '1 minute')`,
          [row.token_id, now],
        )
        .catch(() => this.lastUsedWritten.delete(row.token_id));
    }
    return { userId: row.user_id, name: row.name, roles: row.roles, tokenId: row.token_id };
  }

  async findUserByName(name: string): Promise<AppUser | null> {
    return this.dataSource.getRepository(AppUser).findOneBy({ name, disabledAt: IsNull() });
  }
}
