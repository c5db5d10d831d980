import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One daily reconciliation workbook as written to EXPORTS_DIR. A rebuild of a day is a new row with
 * the next version and a new file: a workbook someone already opened is never replaced silently.
 */
@Entity({ name: 'export_file' })
@Index('UQ_export_file_date_version', ['settlementDate', 'version'], { unique: true })
export class ExportFile {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** The America/New_York settlement day the workbook covers. */
  @Column({ type: 'date', name: 'settlement_date' })
  settlementDate: string;

  /** 1 for the first build of a day, +1 for each rebuild. */
  @Column({ type: 'integer' })
  version: number;

  /** The reconciliation run(s) whose breaks the workbook shows (one per cycle of the day), if any. */
  @Column({ type: 'text', array: true, name: 'reconciliation_run_ids', default: () => "'{}'" })
  reconciliationRunIds: string[];

  /** Relative to EXPORTS_DIR. */
  @Column({ type: 'text', name: 'file_path' })
  filePath: string;

  /** The name offered on download: `klear-recon-YYYY-MM-DD.xlsx`, `-vN` for rebuilds. */
  @Column({ type: 'text', name: 'file_name' })
  fileName: string;

  /** Bytes, not money: a decimal string like every int8 the driver returns. */
  @Column({ type: 'bigint', name: 'size_bytes' })
  sizeBytes: string;

  @Column({ type: 'text' })
  sha256: string;

  /** Rows written per sheet. */
  @Column({ type: 'jsonb', name: 'row_counts' })
  rowCounts: Record<string, number>;

  /** API principal name, or `job:daily_workbook`. */
  @Column({ type: 'text', name: 'created_by' })
  createdBy: string;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt: Date;
}
