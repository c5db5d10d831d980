import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * A point up to which the audit chain was verified, so `GET /audit` walks only the rows after it
 * (docs/security.md, "Audit trail"). Append-only like the chain. With a keyring its MAC (purpose
 * `audit-checkpoint`, key outside the database) covers every column but the id: a checkpoint written
 * by someone who can only write rows does not verify and is reported, never trusted.
 */
@Entity({ name: 'audit_checkpoint' })
export class AuditCheckpoint {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  /** The last row verified. */
  @Column({ type: 'bigint' })
  seq: string;

  /** That row's hash when it was verified. */
  @Column({ type: 'text' })
  hash: string;

  /** `full`: the walk started at the chain's first row (the hourly job, `audit:verify`); `incremental`: at an earlier checkpoint. */
  @Column({ type: 'text' })
  kind: 'full' | 'incremental';

  @Column({ type: 'timestamptz', name: 'verified_at' })
  verifiedAt: Date;

  /** The MAC walk's state at `seq` (signed rows seen, trailing rows under retired keys, the counts), so the next walk goes on from it. */
  @Column({ type: 'jsonb', name: 'walk_state' })
  walkState: { signedSeen: boolean; pendingRetired: number; valid: number; unsignedPrefix: number; retiredKey: number };

  @Column({ type: 'text', nullable: true })
  mac: string | null;

  @Column({ type: 'text', name: 'mac_key_id', nullable: true })
  macKeyId: string | null;
}
