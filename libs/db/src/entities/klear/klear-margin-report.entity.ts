import { bigintColumnTransformer } from '@app/money';
import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * A margin report Klear listed, and its file as downloaded (kept as it came, under REPORTS_DIR,
 * with size and SHA-256). The presigned URL is never stored here.
 */
@Entity({ name: 'klear_margin_report' })
@Index('UQ_klear_margin_report_identity', ['reportType', 'reportDate', 'createdTs'], { unique: true })
export class KlearMarginReport {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'text', name: 'report_type' })
  reportType: string;

  @Column({ type: 'date', name: 'report_date' })
  reportDate: string;

  @Column({ type: 'timestamptz', name: 'created_ts' })
  createdTs: Date;

  @Column({ type: 'boolean', name: 'is_end_of_day' })
  isEndOfDay: boolean;

  @Column({ type: 'timestamptz', name: 'first_pulled_at' })
  firstPulledAt: Date;

  @Column({ type: 'timestamptz', name: 'pulled_at' })
  pulledAt: Date;

  /** Relative to REPORTS_DIR. */
  @Column({ type: 'text', name: 'file_path', nullable: true })
  filePath: string | null;

  @Column({ type: 'bigint', name: 'file_size', nullable: true, transformer: bigintColumnTransformer })
  fileSize: bigint | null;

  @Column({ type: 'text', name: 'file_sha256', nullable: true })
  fileSha256: string | null;

  @Column({ type: 'timestamptz', name: 'downloaded_at', nullable: true })
  downloadedAt: Date | null;

  @Column({ type: 'text', name: 'last_download_error', nullable: true })
  lastDownloadError: string | null;

  @Column({ type: 'bigint', name: 'archive_id' })
  archiveId: string;
}
