import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { LedgerBookingScope } from './ledger-booking-scope';
import { LedgerImport } from './ledger-import.entity';
import { Subtrader } from './subtrader.entity';

/**
 * An immutable journal entry of the internal ledger (docs/ledger-and-breaks.md). The database
 * refuses UPDATE, DELETE and TRUNCATE, and checks at commit that its postings balance (migration
 * triggers). Corrections are new entries of type `reversal`.
 */
@Entity({ name: 'journal_entry' })
@Check('CHK_journal_entry_posting_count', '"posting_count" >= 2')
@Index(['cycle', 'subtraderId'])
@Index(['subtraderId', 'ledgerSeq'])
export class JournalEntry extends LedgerBookingScope {
  /**
   * Commit-ordered position in the ledger (writers are serialised by an advisory lock), so
   * `ledger_seq <= N` is a reproducible snapshot: reconciliation records N as its high-water mark.
   */
  @PrimaryGeneratedColumn('identity', { type: 'bigint', name: 'ledger_seq', generatedIdentity: 'ALWAYS' })
  ledgerSeq: string;

  @Index({ unique: true })
  @Column({ type: 'text', name: 'external_id' })
  externalId: string;

  @Column({ type: 'text', name: 'entry_type' })
  entryType: string;

  @Column({ type: 'timestamptz', name: 'effective_at' })
  effectiveAt: Date;

  @ManyToOne(() => Subtrader, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'subtrader_id' })
  subtrader?: Subtrader;

  @Column({ type: 'text', name: 'business_reference', nullable: true })
  businessReference: string | null;

  @Column({ type: 'text', nullable: true })
  description: string | null;

  /**
   * Unique: an entry is reversed at most once. Indexed for reversals only (migration
   * ReversalIndexPartial1796234200000): the index grows with the reversals, not with the ledger.
   */
  @Index('IDX_journal_entry_reversal', { unique: true, where: '"reverses_external_id" IS NOT NULL' })
  @Column({ type: 'text', name: 'reverses_external_id', nullable: true })
  reversesExternalId: string | null;

  @ManyToOne(() => JournalEntry, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'reverses_external_id', referencedColumnName: 'externalId' })
  reverses?: JournalEntry;

  /**
   * How many postings the entry has: checked at commit (and whenever a posting is added) against its
   * postings, so a page of entries bounded by postings is chosen without reading them (migration
   * EntryPostingCount1796234300000). NULL only for entries older than the column whose postings
   * retention had already exported.
   */
  @Column({ type: 'integer', name: 'posting_count', nullable: true })
  postingCount: number | null;

  /** SHA-256 of the canonical content: the idempotency check of a re-posted external_id. */
  @Column({ type: 'text', name: 'content_hash' })
  contentHash: string;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt: Date;

  @Column({ type: 'text', name: 'created_by' })
  createdBy: string;

  @Index()
  @Column({ type: 'uuid', name: 'import_id', nullable: true })
  importId: string | null;

  @ManyToOne(() => LedgerImport, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'import_id' })
  ledgerImport?: LedgerImport;
}
