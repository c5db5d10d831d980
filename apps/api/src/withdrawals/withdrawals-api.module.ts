import { Module } from '@nestjs/common';
import { WithdrawalsModule } from '@app/withdrawals';
import { WithdrawalPolicyController, WithdrawalsController } from './withdrawals.controller';

/** Withdrawal routes (the KlearClient comes from ApiModule). The request path reads the buffer balance from Klear when the snapshot is stale. */
@Module({
  imports: [WithdrawalsModule],
  controllers: [WithdrawalsController, WithdrawalPolicyController],
})
export class WithdrawalsApiModule {}
