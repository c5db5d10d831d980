import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { AppUser } from './app-user.entity';

/**
 * An API token. Only the SHA-256 of the token is stored (tokens carry 256 bits of randomness, so a
 * fast hash is enough); the clear token is shown once, when it is created.
 */
@Entity({ name: 'api_token' })
export class ApiToken {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index()
  @Column({ type: 'uuid', name: 'user_id' })
  userId: string;

  @ManyToOne(() => AppUser, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'user_id' })
  user?: AppUser;

  @Column({ type: 'text' })
  label: string;

  /** First characters of the token, safe to show, so people can tell their tokens apart. */
  @Column({ type: 'text', name: 'token_prefix' })
  tokenPrefix: string;

  @Index({ unique: true })
  @Column({ type: 'text', name: 'token_hash' })
  tokenHash: string;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt: Date;

  @Column({ type: 'timestamptz', name: 'last_used_at', nullable: true })
  lastUsedAt: Date | null;

  @Column({ type: 'timestamptz', name: 'revoked_at', nullable: true })
  revokedAt: Date | null;

  /** After this instant the token authenticates no more (API_TOKEN_TTL_DAYS after its creation). */
  @Column({ type: 'timestamptz', name: 'expires_at' })
  expiresAt: Date;

  /** How it was made: 'self' (its owner), 'invitation' (its owner, redeeming), 'admin:<user id>' (a service account's), 'cli'. */
  @Column({ type: 'text', name: 'issued_by', default: 'legacy' })
  issuedBy: string;
}
