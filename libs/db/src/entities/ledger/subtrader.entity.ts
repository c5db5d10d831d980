import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/**
 * The registry of subtraders, whichever side saw them first. The ledger and Klear ingestion both
 * upsert here (each sets only its own first-seen column), so a subtrader known to one side only is
 * a row with one column null: reconciliation reports it as a break instead of failing on it.
 */
@Entity({ name: 'subtrader' })
export class Subtrader {
  /** Klear's subtrader id, as the SCM's own systems also use it. */
  @PrimaryColumn({ type: 'text', name: 'subtrader_id' })
  subtraderId: string;

  @Column({ type: 'timestamptz', name: 'first_seen_in_ledger_at', nullable: true })
  firstSeenInLedgerAt: Date | null;

  @Column({ type: 'timestamptz', name: 'first_seen_in_klear_at', nullable: true })
  firstSeenInKlearAt: Date | null;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt: Date;
}
