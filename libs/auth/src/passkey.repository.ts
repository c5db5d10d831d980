import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { type DbTransaction } from '@app/db';
import { DataSource } from 'typeorm';

/** A passkey as stored (`webauthn_credential`). */
export interface PasskeyRow {
  credential_id: string;
  public_key: Buffer;
  counter: string;
}

/** A single-use challenge to store (`console_challenge`). */
export interface NewChallenge {
  nonce: string;
  userId: string;
  purpose: string;
  requestId: string | null;
  version: number | null;
  challenge: string;
  createdAt: Date;
  expiresAt: Date;
}

/** Console users' passkeys (WebAuthn credentials) and the single-use challenges they answer. */
@Injectable()
export class PasskeyRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async count(userId: string): Promise<number> {
    const [row] = (await this.dataSource.query(`SELECT count(*)::int AS n FROM webauthn_credential WHERE user_id = $1`, [
      userId,
    ])) as Array<{ n: number }>;
    return row.n;
  }

  /** The user's passkeys, oldest first. */
  async listOf(userId: string): Promise<PasskeyRow[]> {
    return (await this.dataSource.query(
      `SELECT credential_id, public_key, counter FROM webauthn_credential WHERE user_id = $1 ORDER BY created_at`,
      [userId],
    )) as PasskeyRow[];
  }

  async insert(
    tx: DbTransaction,
    p: { userId: string; credentialId: string; publicKey: Uint8Array; counter: number; transports: string[]; createdAt: Date },
  ): Promise<void> {
    await tx.query(
      `INSERT INTO webauthn_credential (user_id, credential_id, public_key, counter, transports, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
      [p.userId, p.credentialId, Buffer.from(p.publicKey), p.counter, p.transports, p.createdAt],
    );
  }

  /** The user's passkey of that id, locked until `tx` ends. */
  async lock(tx: DbTransaction, userId: string, credentialId: string): Promise<PasskeyRow | undefined> {
    const [row] = (await tx.query(
      `SELECT credential_id, public_key, counter FROM webauthn_credential WHERE user_id = $1 AND credential_id = $2 FOR UPDATE`,
      [userId, credentialId],
    )) as PasskeyRow[];
    return row;
  }

  async setCounter(tx: DbTransaction, credentialId: string, counter: number): Promise<void> {
    await tx.query(`UPDATE webauthn_credential SET counter = $2 WHERE credential_id = $1`, [credentialId, counter]);
  }

  async storeChallenge(c: NewChallenge): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO console_challenge (nonce, user_id, purpose, request_id, request_version, challenge, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [c.nonce, c.userId, c.purpose, c.requestId, c.version, c.challenge, c.createdAt, c.expiresAt],
    );
  }

  /** Marks the challenge used at `now` when it is unused and not expired; answers what it was, or undefined. */
  async take(
    tx: DbTransaction,
    c: { nonce: string; userId: string; purpose: string; requestId: string | null; now: Date },
  ): Promise<{ challenge: string } | undefined> {
    const rows = (await tx.query(
      `UPDATE console_challenge SET used_at = $5
        WHERE nonce = $1 AND user_id = $2 AND purpose = $3 AND request_id IS NOT DISTINCT FROM $4::uuid AND used_at IS NULL AND expires_at > $5
        RETURNING challenge`,
      [c.nonce, c.userId, c.purpose, c.requestId, c.now],
    )) as [Array<{ challenge: string }>, number];
    return rows[0]?.[0];
  }
}
