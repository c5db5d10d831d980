import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AuditService } from '@app/audit';
import { Clock } from '@app/clock';
import { ApiToken, AppUser } from '@app/db';
import { Conflict, NotFound } from '@app/http';
import { DataSource, IsNull } from 'typeorm';
import type { Principal } from './principal';
import type { Role } from './roles';
import { generateApiToken, hashApiToken, looksLikeApiToken } from './token-hash';

export class UserNameTakenError extends Conflict {
  constructor(name: string) {
    super('USER_NAME_TAKEN', `a user named '${name}' already exists`);
  }
}

export interface IssuedToken {
  token: string;
  record: ApiToken;
}

/** Users and their API tokens. Every change is audited. */
@Injectable()
export class UsersService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  async createUser(name: string, roles: Role[], actor: string): Promise<AppUser> {
    return this.dataSource.transaction(async (m) => {
      const existing = await m.findOneBy(AppUser, { name });
      if (existing) throw new UserNameTakenError(name);
      const user = await m.save(m.create(AppUser, { name, roles, disabledAt: null }));
      await this.audit.record(
        { actor, action: 'user.create', entityType: 'user', entityId: user.id, toState: 'active', details: { name, roles } },
        m,
      );
      return user;
    });
  }

  async issueToken(userId: string, label: string, actor: string): Promise<IssuedToken> {
    return this.dataSource.transaction(async (m) => {
      const user = await m.findOneBy(AppUser, { id: userId });
      if (!user) throw new NotFound('user', userId);
      const token = generateApiToken();
      const record = await m.save(
        m.create(ApiToken, { userId, label, tokenPrefix: token.slice(0, 8), tokenHash: hashApiToken(token), lastUsedAt: null, revokedAt: null }),
      );
      await this.audit.record(
        { actor, action: 'token.issue', entityType: 'api_token', entityId: record.id, toState: 'active', details: { user_id: userId, label } },
        m,
      );
      return { token, record };
    });
  }

  async revokeToken(tokenId: string, actor: string): Promise<ApiToken> {
    return this.dataSource.transaction(async (m) => {
      const record = await m.findOne(ApiToken, { where: { id: tokenId }, lock: { mode: 'pessimistic_write' } });
      if (!record) throw new NotFound('token', tokenId);
      if (record.revokedAt) return record;
      record.revokedAt = this.clock.now();
      await m.save(record);
      await this.audit.record({ actor, action: 'token.revoke', entityType: 'api_token', entityId: tokenId, fromState: 'active', toState: 'revoked' }, m);
      return record;
    });
  }

  async listUsers(): Promise<Array<AppUser & { tokens: ApiToken[] }>> {
    const users = await this.dataSource.getRepository(AppUser).find({ order: { createdAt: 'ASC', id: 'ASC' } });
    const tokens = await this.dataSource.getRepository(ApiToken).find({ order: { createdAt: 'ASC' } });
    return users.map((u) => Object.assign(u, { tokens: tokens.filter((t) => t.userId === u.id) }));
  }

  /** Resolves a bearer token to its principal, or null when unknown, revoked or disabled. */
  async authenticate(token: string): Promise<Principal | null> {
    if (!looksLikeApiToken(token)) return null;
    const rows = (await this.dataSource.query(
      `SELECT t.id AS token_id, u.id AS user_id, u.name, u.roles
         FROM api_token t JOIN app_user u ON u.id = t.user_id
        WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL`,
      [hashApiToken(token)],
    )) as Array<{ token_id: string; user_id: string; name: string; roles: Role[] }>;
    if (rows.length === 0) return null;
    const row = rows[0];
    // Last-used is kept to the minute: one write per token per minute, not one per request.
    void this.dataSource
      .query(`UPDATE api_token SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2::timestamptz - interval '1 minute')`, [
        row.token_id,
        this.clock.now(),
      ])
      .catch(() => undefined);
    return { userId: row.user_id, name: row.name, roles: row.roles, tokenId: row.token_id };
  }

  async findUserByName(name: string): Promise<AppUser | null> {
    return this.dataSource.getRepository(AppUser).findOneBy({ name, disabledAt: IsNull() });
  }
}
