import { Injectable } from '@nestjs/common';
import { type DbTransaction, UserInvitation } from '@app/db';
import { IsNull, Not } from 'typeorm';

/** One-time invitations (`user_invitation`; only the codes' hashes). Always within the caller's transaction. */
@Injectable()
export class UserInvitationRepository {
  insert(tx: DbTransaction, invitation: Omit<UserInvitation, 'id'>): Promise<UserInvitation> {
    return tx.save(tx.create(UserInvitation, invitation));
  }

  /** The invitation is redeemed: at `at`, for the token `tokenId` made with it. */
  markRedeemed(tx: DbTransaction, invitation: UserInvitation, at: Date, tokenId: string): Promise<UserInvitation> {
    invitation.redeemedAt = at;
    invitation.tokenId = tokenId;
    return tx.save(invitation);
  }

  /** The invitation of that code hash, locked until `tx` ends. */
  lockByCodeHash(tx: DbTransaction, codeHash: string): Promise<UserInvitation | null> {
    return tx.findOne(UserInvitation, { where: { codeHash }, lock: { mode: 'pessimistic_write' } });
  }

  /** The user a proposal created takes over the invitations issued with the proposal. */
  async attachToUser(tx: DbTransaction, proposalId: string, userId: string): Promise<void> {
    await tx.update(UserInvitation, { proposalId, userId: IsNull() }, { userId });
  }

  countRedeemedBy(tx: DbTransaction, userId: string): Promise<number> {
    return tx.count(UserInvitation, { where: { userId, redeemedAt: Not(IsNull()) } });
  }

  /** Revokes the user's invitations neither redeemed nor revoked yet. */
  async revokeOpen(tx: DbTransaction, userId: string, at: Date): Promise<void> {
    await tx.update(UserInvitation, { userId, redeemedAt: IsNull(), revokedAt: IsNull() }, { revokedAt: at });
  }
}
