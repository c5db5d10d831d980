import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { ApiToken, type DbTransaction } from '@app/db';
import { DataSource, IsNull } from 'typeorm';
import type { Role } from './roles';

/** A token that authenticates now, with its user. */
export interface ValidTokenRow {
  token_id: string;
  user_id: string;
  name: string;
  roles: Role[];
  /** The token's own end (a cached verification never outlives it). */
  expires_at: Date;
}

/** API tokens (`api_token`; only their hashes). */
@Injectable()
export class ApiTokenRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  insert(tx: DbTransaction, token: Omit<ApiToken, 'id' | 'user'>): Promise<ApiToken> {
    return tx.save(tx.create(ApiToken, token));
  }

  /** The token, locked until `tx` ends. */
  lock(tx: DbTransaction, id: string): Promise<ApiToken | null> {
    return tx.findOne(ApiToken, { where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  save(tx: DbTransaction, token: ApiToken): Promise<ApiToken> {
    return tx.save(token);
  }

  /** How many tokens the user ever had (revoked ones too). */
  countOf(tx: DbTransaction, userId: string): Promise<number> {
    return tx.count(ApiToken, { where: { userId } });
  }

  /** Revokes every token of the user not revoked yet; answers how many. */
  async revokeAllOf(tx: DbTransaction, userId: string, at: Date): Promise<number> {
    const revoked = await tx.update(ApiToken, { userId, revokedAt: IsNull() }, { revokedAt: at });
    return revoked.affected ?? 0;
  }

  /** Every token, oldest first. */
  list(): Promise<ApiToken[]> {
    return this.dataSource.getRepository(ApiToken).find({ order: { createdAt: 'ASC' } });
  }

  listOf(userId: string): Promise<ApiToken[]> {
    return this.dataSource.getRepository(ApiToken).find({ where: { userId }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /** The token of that hash when it is neither revoked nor expired at `now` and its user is active. */
  async findValid(tokenHash: string, now: Date): Promise<ValidTokenRow | undefined> {
    const rows = (await this.dataSource.query(
      `SELECT t.id AS token_id, u.id AS user_id, u.name, u.roles, t.expires_at
         FROM api_token t JOIN app_user u ON u.id = t.user_id
        WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2 AND u.disabled_at IS NULL`,
      [tokenHash, now],
    )) as ValidTokenRow[];
    return rows[0];
  }

  /** Sets last_used_at to `now` unless it was set within the minute before. */
  async touchLastUsed(id: string, now: Date): Promise<void> {
    await this.dataSource.query(
      `UPDATE api_token SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2::timestamptz - interval '1 minute')`,
      [id, now],
    );
  }
}
