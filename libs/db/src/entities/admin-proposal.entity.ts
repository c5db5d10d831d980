import { Check, Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { TwoPersonDecision } from './two-person-decision';

export const ADMIN_PROPOSAL_KINDS = ['user.create', 'user.grant_roles', 'user.enable', 'withdrawal_policy.change'] as const;
export type AdminProposalKind = (typeof ADMIN_PROPOSAL_KINDS)[number];
export const ADMIN_PROPOSAL_STATES = ['pending', 'applied', 'rejected', 'void'] as const;
export type AdminProposalState = (typeof ADMIN_PROPOSAL_STATES)[number];

/**
 * A change under dual control: it takes effect only when an admin other than the proposer (and other
 * than the user it concerns) approves it. The database itself refuses a decision by the proposer.
 * `grants`: the privileged roles the change gives its target (the withdrawal rule "no approver granted
 * the role by a proposal the requester made or approved" reads it).
 */
@Entity({ name: 'admin_proposal' })
@Index(['state'])
@Index(['targetUserId'])
@Check('admin_proposal_kind_known', `"kind" IN ('user.create','user.grant_roles','user.enable','withdrawal_policy.change')`)
@Check('admin_proposal_state_known', `"state" IN ('pending','applied','rejected','void')`)
@Check('admin_proposal_not_by_proposer', `"decided_by" IS NULL OR "decided_by" <> "proposed_by"`)
@Check('admin_proposal_not_by_target', `"decided_by" IS NULL OR "target_user_id" IS NULL OR "decided_by" <> "target_user_id"`)
export class AdminProposal extends TwoPersonDecision {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  kind: AdminProposalKind;

  @Column({ type: 'uuid', name: 'target_user_id', nullable: true })
  targetUserId: string | null;

  @Column({ type: 'jsonb' })
  payload: Record<string, unknown>;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  grants: string[];

  @Column({ type: 'text', default: 'pending' })
  state: AdminProposalState;

  @Column({ type: 'timestamptz', name: 'expires_at' })
  expiresAt: Date;
}
