import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { type AuditEvent, AuditService } from '@app/audit';
import type { BreakStatus, DbTransaction } from '@app/db';
import { DataSource, type EntityManager } from 'typeorm';

/** A break as a person's action finds it, under its row lock. */
export interface LockedBreak {
  id: string;
  status: BreakStatus;
  assignee: string | null;
  resolved_by_user_id: string | null;
  resolution_reason: string | null;
  difference_centicents: string;
  write_off_difference_centicents: string | null;
}

/** A resolution (or write-off proposal) as written on the break. */
export interface BreakResolutionWrite {
  status: BreakStatus;
  reason: string;
  reference: string | null;
  note: string | null;
  resolvedBy: string;
  resolvedByUserId: string;
  /** Also the resolution's time when `status` is resolved. */
  now: Date;
  /** The difference a write-off proposal names (null for any other resolution). */
  writeOffDifferenceCenticents: string | null;
}

/** One transaction over one break: its row lock, the changes people make, and their audit rows, committed together. */
export class BreakTransaction {
  constructor(
    private readonly tx: EntityManager,
    private readonly audit: AuditService,
  ) {}

  /** The transaction's handle, for another capability's repository to read in the same transaction. */
  get handle(): DbTransaction {
    return this.tx;
  }

  /** The break under a row lock held until the transaction ends (undefined when there is none). */
  async lock(breakId: string): Promise<LockedBreak | undefined> {
    const [current] = (await this.tx.query(
      `SELECT id::text, status, assignee, resolved_by_user_id, resolution_reason, difference_centicents::text,
              write_off_difference_centicents::text FROM recon_break WHERE id = $1 FOR UPDATE`,
      [breakId],
    )) as LockedBreak[];
    return current;
  }

  async acknowledge(breakId: string, now: Date): Promise<void> {
    await this.tx.query(`UPDATE recon_break SET status = 'acknowledged', updated_at = $2 WHERE id = $1`, [breakId, now]);
  }

  /** An enabled user named by id or name. */
  async findEnabledUser(idOrName: string): Promise<{ id: string; name: string } | undefined> {
    const [user] = (await this.tx.query(`SELECT id::text, name FROM app_user WHERE (id::text = $1 OR name = $1) AND disabled_at IS NULL`, [
      idOrName,
    ])) as Array<{ id: string; name: string }>;
    return user;
  }

  async assign(breakId: string, assignee: string, now: Date): Promise<void> {
    await this.tx.query(`UPDATE recon_break SET assignee = $2, updated_at = $3 WHERE id = $1`, [breakId, assignee, now]);
  }

  /** Adds a comment; answers its id. */
  async addComment(breakId: string, author: string, body: string, now: Date): Promise<string> {
    const [row] = (await this.tx.query(
      `INSERT INTO recon_break_comment (break_id, author, body, created_at) VALUES ($1, $2, $3, $4) RETURNING id::text`,
      [breakId, author, body, now],
    )) as Array<{ id: string }>;
    return row.id;
  }

  /** A resolution, or a write-off proposal awaiting its co-sign (any previous co-sign cleared). */
  async resolve(breakId: string, r: BreakResolutionWrite): Promise<void> {
    await this.tx.query(
      `UPDATE recon_break SET status = $2, resolution_reason = $3, resolution_reference = $4, resolution_note = $5,
              resolved_by = $6, resolved_by_user_id = $7, cosigned_by = NULL, resolved_at = CASE WHEN $2 = 'resolved' THEN $8::timestamptz END,
              write_off_difference_centicents = $9, updated_at = $8
        WHERE id = $1`,
      [breakId, r.status, r.reason, r.reference, r.note, r.resolvedBy, r.resolvedByUserId, r.now, r.writeOffDifferenceCenticents],
    );
  }

  /** A co-signed write-off: resolved. */
  async cosign(breakId: string, cosignedBy: string, now: Date): Promise<void> {
    await this.tx.query(`UPDATE recon_break SET status = 'resolved', cosigned_by = $2, resolved_at = $3, updated_at = $3 WHERE id = $1`, [
      breakId,
      cosignedBy,
      now,
    ]);
  }

  /** The audit row of the change, in the same transaction (both commit or neither). */
  async record(event: AuditEvent): Promise<void> {
    await this.audit.record(event, this.tx);
  }
}

/** Breaks as people work them: each change in its own transaction, under the break's row lock. */
@Injectable()
export class BreakRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  /** Runs `work` in one READ COMMITTED transaction: all of it commits, or none. */
  run<T>(work: (tx: BreakTransaction) => Promise<T>): Promise<T> {
    return this.dataSource.transaction((manager) => work(new BreakTransaction(manager, this.audit)));
  }
}
