import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { type DbTransaction } from '@app/db';
import { DataSource } from 'typeorm';
import type { Role } from './roles';

/** A stored TOTP secret: sealed under `totp_key_id`, or in clear when that is null. */
export interface StoredTotp {
  totp_secret: string;
  totp_key_id: string | null;
}

/** What a sign-in checks: the active person of that name and their credentials. */
export interface SignInCredential extends StoredTotp {
  id: string;
  name: string;
  roles: Role[];
  password_hash: string;
  locked_until: Date | null;
}

/** Answers how many rows an UPDATE touched (TypeORM answers [rows, count] for an UPDATE ... RETURNING). */
const updatedCount = (rows: [unknown[], number] | unknown[]) => (Array.isArray(rows[0]) ? (rows as [unknown[], number])[1] : rows.length);

/** People's console credentials (`console_credential`): password hash, TOTP secret, last step used, failures and lockout. */
@Injectable()
export class ConsoleCredentialRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The credentials whose TOTP secret is not sealed under `keyId`, locked until `tx` ends. */
  async lockNotSealedWith(tx: DbTransaction, keyId: string): Promise<Array<StoredTotp & { user_id: string }>> {
    return (await tx.query(
      `SELECT user_id, totp_secret, totp_key_id FROM console_credential WHERE totp_key_id IS DISTINCT FROM $1 FOR UPDATE`,
      [keyId],
    )) as Array<StoredTotp & { user_id: string }>;
  }

  async replaceTotpSecret(tx: DbTransaction, userId: string, secret: string, keyId: string | null): Promise<void> {
    await tx.query(`UPDATE console_credential SET totp_secret = $2, totp_key_id = $3 WHERE user_id = $1`, [userId, secret, keyId]);
  }

  async findTotp(userId: string): Promise<StoredTotp | undefined> {
    const rows = (await this.dataSource.query(`SELECT totp_secret, totp_key_id FROM console_credential WHERE user_id = $1`, [
      userId,
    ])) as StoredTotp[];
    return rows[0];
  }

  /** Sets (or replaces) a person's password hash and TOTP secret, resetting the last step, failures and lockout. */
  async enrol(
    tx: DbTransaction,
    c: { userId: string; passwordHash: string; secret: string; keyId: string | null; at: Date },
  ): Promise<void> {
    await tx.query(
      `INSERT INTO console_credential (user_id, password_hash, totp_secret, totp_key_id, totp_enrolled_at, last_totp_step, failed_count, locked_until, updated_at)
       VALUES ($1, $2, $3, $5, $4, NULL, 0, NULL, $4)
       ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, totp_secret = excluded.totp_secret, totp_key_id = excluded.totp_key_id,
         totp_enrolled_at = excluded.totp_enrolled_at, last_totp_step = NULL, failed_count = 0, locked_until = NULL, updated_at = excluded.updated_at`,
      [c.userId, c.passwordHash, c.secret, c.at, c.keyId],
    );
  }

  async exists(userId: string): Promise<boolean> {
    const rows = (await this.dataSource.query(`SELECT 1 FROM console_credential WHERE user_id = $1`, [userId])) as unknown[];
    return rows.length > 0;
  }

  /** The active person of that name with console credentials, or undefined. */
  async findForSignIn(username: string): Promise<SignInCredential | undefined> {
    const rows = (await this.dataSource.query(
      `SELECT u.id, u.name, u.roles, c.password_hash, c.totp_secret, c.totp_key_id, c.locked_until
         FROM app_user u JOIN console_credential c ON c.user_id = u.id
        WHERE u.name = $1 AND u.disabled_at IS NULL`,
      [username],
    )) as SignInCredential[];
    return rows[0];
  }

  /** The person's TOTP secret and lockout, in `tx` when given. */
  async findForStepUp(userId: string, tx?: DbTransaction): Promise<(StoredTotp & { locked_until: Date | null }) | undefined> {
    const rows = (await (tx ?? this.dataSource).query(
      `SELECT totp_secret, totp_key_id, locked_until FROM console_credential WHERE user_id = $1`,
      [userId],
    )) as Array<StoredTotp & { locked_until: Date | null }>;
    return rows[0];
  }

  async clearFailures(tx: DbTransaction, userId: string): Promise<void> {
    await tx.query(`UPDATE console_credential SET failed_count = 0, locked_until = NULL WHERE user_id = $1`, [userId]);
  }

  /** Records `step` as the last TOTP step used unless that step (or a later one) was used already; answers whether it was. */
  async consumeStep(userId: string, step: number, tx?: DbTransaction): Promise<boolean> {
    const updated = (await (tx ?? this.dataSource).query(
      `UPDATE console_credential SET last_totp_step = $2 WHERE user_id = $1 AND (last_totp_step IS NULL OR last_totp_step < $2) RETURNING user_id`,
      [userId, step],
    )) as [unknown[], number] | unknown[];
    return updatedCount(updated) > 0;
  }

  /**
   * Counts one failed sign-in or step-up; the `maxFailures`-th locks the credential until `until` (and
   * starts the count again). Answers the lockout after the failure.
   */
  async countFailure(tx: DbTransaction, userId: string, maxFailures: number, until: Date): Promise<Date | null> {
    const [row] = (await tx.query(
      `UPDATE console_credential
          SET failed_count = CASE WHEN failed_count + 1 >= $2 THEN 0 ELSE failed_count + 1 END,
              locked_until = CASE WHEN failed_count + 1 >= $2 THEN $3::timestamptz ELSE locked_until END
        WHERE user_id = $1 RETURNING failed_count, locked_until`,
      [userId, maxFailures, until],
    )) as [Array<{ failed_count: number; locked_until: Date | null }>, number];
    return row?.[0]?.locked_until ?? null;
  }
}
