import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const LEDGER_IMPORT_STATUSES = ['imported', 'partially_imported', 'rejected'] as const;
export type LedgerImportStatus = (typeof LEDGER_IMPORT_STATUSES)[number];

/** One uploaded CSV/XLSX file of journal entries and what became of it (kept also when rejected). */
@Entity({ name: 'ledger_import' })
export class LedgerImport {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text', name: 'file_name' })
  fileName: string;

  @Index()
  @Column({ type: 'text' })
  sha256: string;

  /** Bytes, not money: a decimal string like every int8 the driver returns. */
  @Column({ type: 'bigint', name: 'size_bytes' })
  sizeBytes: string;

  @Column({ type: 'text' })
  format: 'csv' | 'xlsx';

  @Column({ type: 'boolean' })
  partial: boolean;

  @Column({ type: 'text' })
  status: LedgerImportStatus;

  @Column({ type: 'integer', name: 'row_count' })
  rowCount: number;

  @Column({ type: 'integer', name: 'entry_count' })
  entryCount: number;

  @Column({ type: 'integer', name: 'created_count' })
  createdCount: number;

  @Column({ type: 'integer', name: 'unchanged_count' })
  unchangedCount: number;

  @Column({ type: 'integer', name: 'rejected_entry_count' })
  rejectedEntryCount: number;

  @Column({ type: 'integer', name: 'rejected_row_count' })
  rejectedRowCount: number;

  /** The first rejected rows (line, external_id, code, reason), capped so a bad 1M-row file stays small. */
  @Column({ type: 'jsonb', nullable: true })
  rejections: unknown[] | null;

  @Column({ type: 'text', name: 'created_by' })
  createdBy: string;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt: Date;
}
