import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * A one-time invitation with which a person creates their own first token. Only the SHA-256 of the
 * code is kept. `userId` is null while the user's creation is a proposal not yet approved (the code
 * cannot be redeemed until then). Redeemed at most once (`redeemedAt`, set by one conditional UPDATE).
 */
@Entity({ name: 'user_invitation' })
export class UserInvitation {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index()
  @Column({ type: 'uuid', name: 'user_id', nullable: true })
  userId: string | null;

  @Index()
  @Column({ type: 'uuid', name: 'proposal_id', nullable: true })
  proposalId: string | null;

  @Index({ unique: true })
  @Column({ type: 'text', name: 'code_hash' })
  codeHash: string;

  @Column({ type: 'timestamptz', name: 'issued_at' })
  issuedAt: Date;

  /** Who issued it (a user name, or 'cli'). */
  @Column({ type: 'text', name: 'issued_by' })
  issuedBy: string;

  /**
   * The user who was handed the code (null: the CLI). They could have redeemed it themselves, so
   * their approval never counts for a withdrawal this user requests.
   */
  @Index('IDX_user_invitation_issued_to')
  @Column({ type: 'uuid', name: 'issued_to_user_id', nullable: true })
  issuedToUserId: string | null;

  @Column({ type: 'timestamptz', name: 'expires_at' })
  expiresAt: Date;

  @Column({ type: 'timestamptz', name: 'redeemed_at', nullable: true })
  redeemedAt: Date | null;

  @Column({ type: 'timestamptz', name: 'revoked_at', nullable: true })
  revokedAt: Date | null;

  @Column({ type: 'uuid', name: 'token_id', nullable: true })
  tokenId: string | null;
}
