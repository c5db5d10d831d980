import { Column, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { money } from '../columns';
import { KlearPull } from './klear-pull';

/** An obligation's header figures, embedded (same column names, no prefix) in the current row and in every version. */
export class ObligationFigures {
  @Column({ ...money, name: 'amount_centicents' })
  amountCenticents: bigint;

  @Column({ ...money, name: 'fees_centicents' })
  feesCenticents: bigint;

  @Column({ ...money, name: 'maintenance_margin_centicents' })
  maintenanceMarginCenticents: bigint;

  @Column({ ...money, name: 'pnl_centicents' })
  pnlCenticents: bigint;
}

/** The current version of each Klear obligation, upserted by Klear id. */
@Entity({ name: 'klear_obligation' })
@Index('IDX_klear_obligation_execution_time_id', ['executionTime', 'id'])
@Index('IDX_klear_obligation_asset_class', ['assetClass', 'executionTime'])
export class KlearObligation {
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ type: 'text', name: 'user_id' })
  userId: string;

  @Column(() => ObligationFigures, { prefix: false })
  figures: ObligationFigures;

  @Column({ type: 'timestamptz', name: 'execution_time' })
  executionTime: Date;

  @Column({ type: 'timestamptz', name: 'last_updated_ts' })
  lastUpdatedTs: Date;

  /** SHA-256 of the whole entry (info, receives, details) in canonical form: a change is a new version. */
  @Column({ type: 'text', name: 'content_sha256' })
  contentSha256: string;

  @Column({ type: 'integer', name: 'settlement_detail_count' })
  settlementDetailCount: number;

  @Column({ type: 'timestamptz', name: 'first_pulled_at' })
  firstPulledAt: Date;

  /** When Klear last answered with this obligation (any version). */
  @Column({ type: 'timestamptz', name: 'pulled_at' })
  pulledAt: Date;

  @Column({ type: 'bigint', name: 'archive_id' })
  archiveId: string;

  /** The live API's asset class of the obligation (rows from before it are Crypto). */
  @Column({ type: 'text', name: 'asset_class', default: 'Crypto' })
  assetClass: string;

  @Column({ ...money, name: 'funding_centicents', default: '0' })
  fundingCenticents: bigint;

  @Column({ type: 'integer', name: 'funding_payment_count', default: 0 })
  fundingPaymentCount: number;

  /** The truncated inline lists this obligation's stored rows were completed from their pages. */
  @Column({ type: 'text', array: true, name: 'completed_lists', default: () => "'{}'" })
  completedLists: string[];

  /** Its versions (klear_obligation_version), kept by the database (migration ObligationSettledByStored). */
  @Column({ type: 'integer', name: 'version_count', default: 0 })
  versionCount: number;

  /** The buffer movement that settled it, or null: kept by the database (klear_obligation_settled_by, migration ObligationSettledByStored). */
  @Column({ type: 'jsonb', name: 'settled_by', nullable: true })
  settledBy: unknown;
}

/**
 * Every distinct version of an obligation ever seen. The full content of a version (its details) is
 * in the archived answer it came from (`archive_id`).
 */
@Entity({ name: 'klear_obligation_version' })
@Index(['obligationId', 'lastUpdatedTs', 'contentSha256'], { unique: true })
export class KlearObligationVersion {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'text', name: 'obligation_id' })
  obligationId: string;

  @Column({ type: 'timestamptz', name: 'last_updated_ts' })
  lastUpdatedTs: Date;

  @Column({ type: 'text', name: 'content_sha256' })
  contentSha256: string;

  @Column(() => ObligationFigures, { prefix: false })
  figures: ObligationFigures;

  @Column({ type: 'timestamptz', name: 'first_pulled_at' })
  firstPulledAt: Date;

  @Column({ type: 'bigint', name: 'archive_id' })
  archiveId: string;

  @Column({ type: 'text', name: 'asset_class', default: 'Crypto' })
  assetClass: string;
}

/** Each pull of `GET /margin/active_obligation`: which obligation was active (or none). */
@Entity({ name: 'klear_active_obligation_pull' })
@Index(['pulledAt'])
export class KlearActiveObligationPull extends KlearPull {
  @Column({ type: 'text', name: 'obligation_id', nullable: true })
  obligationId: string | null;
}
