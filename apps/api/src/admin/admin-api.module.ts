import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { DbTransactions } from '@app/db';
import { WithdrawalsModule } from '@app/withdrawals';
import { AdminProposalsController, InvitationsController, UsersController } from '../users/users.controller';
import { AdminProposalRepository } from './admin-proposal.repository';
import { AdminProposals } from './admin-proposals.service';

/** Users, tokens, invitations and the dual-control proposals (the withdrawal policy's too). */
@Module({
  imports: [AuthModule, WithdrawalsModule],
  providers: [DbTransactions, AdminProposalRepository, AdminProposals],
  controllers: [UsersController, InvitationsController, AdminProposalsController],
  exports: [AdminProposals],
})
export class AdminApiModule {}
