import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * One row of the append-only, hash-chained audit log. `hash` is the SHA-256 of this row's canonical
 * content together with `prev_hash`; the database refuses UPDATE, DELETE and TRUNCATE (migration
 * trigger), so an edit made behind the database's back is found by the chain verification.
 */
@Entity({ name: 'audit_log' })
@Index('IDX_audit_log_entity_seq', ['entityType', 'entityId', 'seq'])
@Index('IDX_audit_log_entity_type_seq', ['entityType', 'seq'])
@Index('IDX_audit_log_actor_seq', ['actor', 'seq'])
export class AuditLogEntry {
  /** Gapless position in the chain, assigned under a transaction-scoped advisory lock. */
  @PrimaryColumn({ type: 'bigint' })
  seq: string;

  @Column({ type: 'timestamptz', name: 'occurred_at' })
  occurredAt: Date;

  @Column({ type: 'text' })
  actor: string;

  @Column({ type: 'text' })
  action: string;

  @Column({ type: 'text', name: 'entity_type' })
  entityType: string;

  @Column({ type: 'text', name: 'entity_id' })
  entityId: string;

  @Column({ type: 'text', name: 'from_state', nullable: true })
  fromState: string | null;

  @Column({ type: 'text', name: 'to_state', nullable: true })
  toState: string | null;

  @Column({ type: 'text', nullable: true })
  reason: string | null;

  @Column({ type: 'jsonb', nullable: true })
  details: Record<string, unknown> | null;

  @Column({ type: 'text', name: 'request_hash', nullable: true })
  requestHash: string | null;

  @Column({ type: 'text', name: 'prev_hash' })
  prevHash: string;

  @Column({ type: 'text' })
  hash: string;

  /**
   * HMAC-SHA256 of `seq` and `hash` under the audit key derived from SECRETS_KEY (outside the
   * database), so a consistent rewrite of the chain by someone who can write rows is still found.
   * Null for rows written without a keyring (development) or before the MAC existed.
   */
  @Column({ type: 'text', nullable: true })
  mac: string | null;

  /** The keyring key that made `mac` (its public id). */
  @Column({ type: 'text', name: 'mac_key_id', nullable: true })
  macKeyId: string | null;
}
