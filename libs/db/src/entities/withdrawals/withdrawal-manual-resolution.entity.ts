import { Check, Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { TwoPersonDecision } from '../two-person-decision';

/**
 * A person's settlement of a withdrawal whose outcome is unknown, after reading Klear's records:
 * proposed by one approver or admin, confirmed by another (the database refuses the same person).
 * At most one pending per request.
 */
@Entity({ name: 'withdrawal_manual_resolution' })
@Index(['requestId'])
@Index('withdrawal_manual_resolution_one_pending', ['requestId'], { unique: true, where: `"state" = 'pending'` })
@Check('withdrawal_manual_resolution_conclusion_known', `"conclusion" IN ('submitted','not_submitted')`)
@Check('withdrawal_manual_resolution_state_known', `"state" IN ('pending','confirmed','rejected','void')`)
@Check('withdrawal_manual_resolution_id_iff_submitted', `("conclusion" = 'submitted') = ("klear_withdrawal_id" IS NOT NULL)`)
@Check('withdrawal_manual_resolution_two_people', `"decided_by" IS NULL OR "decided_by" <> "proposed_by"`)
export class WithdrawalManualResolution extends TwoPersonDecision {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid', name: 'request_id' })
  requestId: string;

  @Column({ type: 'uuid', name: 'attempt_id' })
  attemptId: string;

  @Column({ type: 'text' })
  conclusion: 'submitted' | 'not_submitted';

  @Column({ type: 'text', name: 'klear_withdrawal_id', nullable: true })
  klearWithdrawalId: string | null;

  @Column({ type: 'text' })
  reason: string;

  @Column({ type: 'text', default: 'pending' })
  state: 'pending' | 'confirmed' | 'rejected' | 'void';
}
