import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { type DbTransaction } from '@app/db';
import { DataSource } from 'typeorm';
import type { Role } from './roles';

/** A console session as stored (the cookie value only as its SHA-256). */
export interface ConsoleSessionRow {
  id: string;
  user_id: string;
  csrf_token: string;
  created_at: Date;
  last_seen_at: Date;
  absolute_expires_at: Date;
}

/** Console sessions (`console_session`). */
@Injectable()
export class ConsoleSessionRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Opens a session; answers its id. */
  async insert(
    tx: DbTransaction,
    s: { tokenHash: string; userId: string; csrfToken: string; at: Date; absoluteExpiresAt: Date; client: string | null },
  ): Promise<string> {
    const [row] = (await tx.query(
      `INSERT INTO console_session (token_hash, user_id, csrf_token, created_at, last_seen_at, absolute_expires_at, client)
       VALUES ($1, $2, $3, $4, $4, $5, $6) RETURNING id`,
      [s.tokenHash, s.userId, s.csrfToken, s.at, s.absoluteExpiresAt, s.client],
    )) as Array<{ id: string }>;
    return row.id;
  }

  /** The session of that cookie hash, not revoked, of an active user, with the user's name and roles. */
  async findOpen(tokenHash: string): Promise<(ConsoleSessionRow & { name: string; roles: Role[] }) | undefined> {
    const rows = (await this.dataSource.query(
      `SELECT s.id, s.user_id, s.csrf_token, s.created_at, s.last_seen_at, s.absolute_expires_at, u.name, u.roles
         FROM console_session s JOIN app_user u ON u.id = s.user_id
        WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND u.disabled_at IS NULL`,
      [tokenHash],
    )) as Array<ConsoleSessionRow & { name: string; roles: Role[] }>;
    return rows[0];
  }

  /** Moves the session's last activity to `at` (never back). */
  async touch(id: string, at: Date): Promise<void> {
    await this.dataSource.query(`UPDATE console_session SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2`, [id, at]);
  }

  async revoke(tx: DbTransaction, id: string, at: Date): Promise<void> {
    await tx.query(`UPDATE console_session SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, [id, at]);
  }

  /** Ends every open session of the user. */
  async revokeAllOf(tx: DbTransaction, userId: string, at: Date): Promise<void> {
    await tx.query(`UPDATE console_session SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL`, [userId, at]);
  }
}
