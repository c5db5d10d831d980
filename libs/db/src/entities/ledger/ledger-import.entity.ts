import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/** `refused`: the file was not read to the end (over a size or row limit, not CSV/XLSX, no file): nothing imported. */
export const LEDGER_IMPORT_STATUSES = ['imported', 'partially_imported', 'rejected', 'refused'] as const;
export type LedgerImportStatus = (typeof LEDGER_IMPORT_STATUSES)[number];

/** One uploaded CSV/XLSX file of journal entries and what became of it (kept also when rejected). */
@Entity({ name: 'ledger_import' })
export class LedgerImport {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text', name: 'file_name' })
  fileName: string;

  /** Null when the upload was refused before it was complete (over LEDGER_IMPORT_MAX_BYTES). */
  @Index()
  @Column({ type: 'text', nullable: true })
  sha256: string | null;

  /** Bytes, not money: a decimal string like every int8 the driver returns. */
  @Column({ type: 'bigint', name: 'size_bytes' })
  sizeBytes: string;

  @Column({ type: 'text', nullable: true })
  format: 'csv' | 'xlsx' | null;

  /** Why a `refused` import was refused: the error code answered (LEDGER_IMPORT_TOO_MANY_ROWS, ...). */
  @Column({ type: 'text', name: 'refusal_code', nullable: true })
  refusalCode: string | null;

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

/** Every rejected row of an import, in order: the downloadable report (GET /ledger/imports/{id}/rejections). */
@Entity({ name: 'ledger_import_rejection' })
export class LedgerImportRejection {
  @PrimaryColumn({ type: 'uuid', name: 'import_id' })
  importId: string;

  @PrimaryColumn({ type: 'integer' })
  ordinal: number;

  @Column({ type: 'integer' })
  line: number;

  @Column({ type: 'text', name: 'external_id', nullable: true })
  externalId: string | null;

  @Column({ type: 'text' })
  code: string;

  @Column({ type: 'text' })
  reason: string;
}
