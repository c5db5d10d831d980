import { WithdrawalApproval } from './withdrawal-approval.entity';
import { WithdrawalAttempt } from './withdrawal-attempt.entity';
import { WithdrawalExecutorFence } from './withdrawal-executor-fence.entity';
import { WithdrawalKlearAnswer } from './withdrawal-klear-answer.entity';
import { WithdrawalManualResolution } from './withdrawal-manual-resolution.entity';
import { WithdrawalPolicy } from './withdrawal-policy.entity';
import { WithdrawalRequest } from './withdrawal-request.entity';
import { WithdrawalStateChange } from './withdrawal-state-change.entity';

export * from './withdrawal-approval.entity';
export * from './withdrawal-attempt.entity';
export * from './withdrawal-executor-fence.entity';
export * from './withdrawal-klear-answer.entity';
export * from './withdrawal-manual-resolution.entity';
export * from './withdrawal-policy.entity';
export * from './withdrawal-request.entity';
export * from './withdrawal-state-change.entity';

export const WITHDRAWALS_ENTITIES = [
  WithdrawalPolicy,
  WithdrawalRequest,
  WithdrawalApproval,
  WithdrawalAttempt,
  WithdrawalStateChange,
  WithdrawalExecutorFence,
  WithdrawalKlearAnswer,
  WithdrawalManualResolution,
];
