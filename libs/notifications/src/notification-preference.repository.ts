import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { type DbTransaction } from '@app/db';
import { DataSource } from 'typeorm';
import { type Channel } from './notification-kinds';

/** A person's stored preferences (no row: nothing chosen yet). */
export interface StoredPreferences {
  email: string | null;
  events: Record<string, Channel[]>;
  updated_at: Date;
  updated_by: string;
}

/** Per-person notification preferences (`notification_preference`), and the users they belong to. */
@Injectable()
export class NotificationPreferenceRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async find(userId: string): Promise<StoredPreferences | undefined> {
    const [row] = (await this.dataSource.query(
      `SELECT email, events, updated_at, updated_by FROM notification_preference WHERE user_id = $1`,
      [userId],
    )) as StoredPreferences[];
    return row;
  }

  /** The preferences as they are, locked until the transaction ends. */
  async lockFor(tx: DbTransaction, userId: string): Promise<Pick<StoredPreferences, 'email' | 'events'> | undefined> {
    const [row] = (await tx.query(`SELECT email, events FROM notification_preference WHERE user_id = $1 FOR UPDATE`, [userId])) as Array<
      Pick<StoredPreferences, 'email' | 'events'>
    >;
    return row;
  }

  async save(
    tx: DbTransaction,
    userId: string,
    email: string | null,
    events: Record<string, Channel[]>,
    at: Date,
    by: string,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO notification_preference (user_id, email, events, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email, events = EXCLUDED.events, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by`,
      [userId, email, JSON.stringify(events), at, by],
    );
  }

  /** Whether the user exists (disabled or not), in `tx` when given. */
  async userExists(userId: string, tx?: DbTransaction): Promise<boolean> {
    const rows = (await (tx ?? this.dataSource).query(`SELECT 1 FROM app_user WHERE id = $1`, [userId])) as unknown[];
    return rows.length > 0;
  }

  /** An active user's id by name. */
  async activeUserIdByName(name: string): Promise<string | null> {
    const [row] = (await this.dataSource.query(`SELECT id FROM app_user WHERE name = $1 AND disabled_at IS NULL`, [name])) as Array<{
      id: string;
    }>;
    return row?.id ?? null;
  }
}
