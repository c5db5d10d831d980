import { Column, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Every Klear answer a job received, byte for byte, written before it is interpreted. Immutable
 * (the database refuses UPDATE, DELETE and TRUNCATE): the derived klear_* tables can be rebuilt
 * from it. `params` never holds secrets or presigned URL queries.
 */
@Entity({ name: 'klear_response_archive' })
@Index(['endpoint', 'receivedAt'])
export class KlearResponseArchive {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  /** `GET /margin/obligation_history` */
  @Column({ type: 'text' })
  endpoint: string;

  @Column({ type: 'jsonb' })
  params: Record<string, string>;

  /** Part of the key: the partition key (monthly partitions, docs/partitioning-and-retention.md). */
  @PrimaryColumn({ type: 'timestamptz', name: 'received_at' })
  receivedAt: Date;

  @Column({ type: 'integer', name: 'http_status' })
  httpStatus: number;

  @Column({ type: 'text' })
  sha256: string;

  @Column({ type: 'bytea' })
  body: Buffer;

  @Column({ type: 'bigint', name: 'job_run_id', nullable: true })
  jobRunId: string | null;
}
