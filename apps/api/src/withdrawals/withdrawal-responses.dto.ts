import { ApiProperty } from '@nestjs/swagger';
import { ROLES } from '@app/db';
import { WITHDRAWAL_STATES } from '@app/withdrawals';
import { nullableText, nullableTime } from '../openapi-properties';

/*
 * The answers of the withdrawal and withdrawal-policy routes, as documented in /docs-json: the views of
 * withdrawals.dto.ts return these shapes (test/foundation/openapi-responses.test.ts holds every answer
 * to them, an undeclared field failing). Money: centicents as decimal strings, the exact USD beside.
 */

const cc = (example: string, description = 'centicents, decimal string') => ({ example, description });
const usd = (example: string) => ({ example, description: 'dollars with every centicent' });
const freeForm = (description: string, nullable = false) =>
  ({ type: 'object', additionalProperties: true, nullable, description }) as const;
const roles = { enum: ROLES, isArray: true, example: ['approver'] } as const;

export class PersonView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'dana.ops' }) name: string;
}

export class WithdrawalAttentionView {
  @ApiProperty({ example: 'klear_id_unconfirmed', description: 'why a person must look at the request' }) reason: string;
  @ApiProperty(freeForm('what the system saw', true)) details: Record<string, unknown> | null;
  @ApiProperty(nullableTime()) raised_at: string | null;
  @ApiProperty(nullableTime('when the approvers were told; null: not yet')) notified_at: string | null;
}

export class WithdrawalView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: WITHDRAWAL_STATES }) state: string;
  @ApiProperty(cc('2500000000')) amount_centicents: string;
  @ApiProperty(usd('$250,000.0000')) amount_usd: string;
  @ApiProperty({ example: 'monthly sweep to the operating account' }) purpose: string;
  @ApiProperty({ type: PersonView, description: 'who asked for it' }) requester: PersonView;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty({ format: 'date-time' }) updated_at: string;
  @ApiProperty({ format: 'date-time', description: 'not approved by then: expired' }) expires_at: string;
  @ApiProperty({ example: 1 }) policy_version: number;
  @ApiProperty(freeForm('the policy version the request was made under, as it was')) policy_snapshot: Record<string, unknown>;
  @ApiProperty({ example: 2 }) approvals_required: number;
  @ApiProperty(roles) roles_required: string[];
  @ApiProperty({ example: 1, description: 'a fresh round starts when a manual resolution finds the POST never arrived' })
  approval_round: number;
  @ApiProperty(nullableText('wd_01HXYZ', "Klear's withdrawal id once known")) klear_withdrawal_id: string | null;
  @ApiProperty(nullableText('locked', "Klear's status of the withdrawal, as last read")) klear_status: string | null;
  @ApiProperty(nullableTime()) submitted_at: string | null;
  @ApiProperty(freeForm('the headroom check made when it was requested (every figure, centicents as decimal strings)', true))
  headroom_at_request: Record<string, unknown> | null;
  @ApiProperty(freeForm('why execution waits (e.g. headroom short at execution), null: not held', true)) execution_hold: Record<
    string,
    unknown
  > | null;
  @ApiProperty({ description: 'a person must look at it (failed wire, unconfirmed or conflicting Klear id, ambiguous outcome)' })
  needs_attention: boolean;
  @ApiProperty({ type: WithdrawalAttentionView, nullable: true }) attention: WithdrawalAttentionView | null;
  @ApiProperty({ example: 3, description: 'changes with every change of the request (a step-up names the version it decides on)' })
  version: number;
}

export class ApprovalView {
  @ApiProperty({ example: 1 }) round: number;
  @ApiProperty({ type: PersonView }) approver: PersonView;
  @ApiProperty(roles) approver_roles: string[];
  @ApiProperty({ enum: ['approve', 'reject', 'revoke'] }) decision: string;
  @ApiProperty(nullableText('ok per treasury sweep plan', "the approver's comment, the rejection or revocation reason")) reason:
    string | null;
  @ApiProperty({ format: 'date-time' }) decided_at: string;
}

export class AttemptView {
  @ApiProperty({ example: 1 }) attempt_no: number;
  @ApiProperty({ example: 'succeeded' }) state: string;
  @ApiProperty({ format: 'date-time' }) started_at: string;
  @ApiProperty(nullableTime('when the POST to Klear left')) posted_at: string | null;
  @ApiProperty(nullableText('17', "the executor's fencing token")) fencing_token: string | null;
  @ApiProperty(nullableTime()) finished_at: string | null;
  @ApiProperty(nullableText('wd_01HXYZ')) klear_withdrawal_id: string | null;
  @ApiProperty(nullableText()) error: string | null;
  @ApiProperty(cc('500000000000', 'available balance read just before the POST')) available_before_centicents: string;
  @ApiProperty(cc('0', 'locked balance read just before the POST')) locked_before_centicents: string;
  @ApiProperty(freeForm('how an ambiguous attempt was settled', true)) resolution: Record<string, unknown> | null;
}

export class HistoryView {
  @ApiProperty({ ...nullableText('pending_approval'), enum: WITHDRAWAL_STATES }) from: string | null;
  @ApiProperty({ enum: WITHDRAWAL_STATES }) to: string;
  @ApiProperty({ example: 'test-approver' }) actor: string;
  @ApiProperty(nullableText()) reason: string | null;
  @ApiProperty(freeForm('what the change rested on', true)) details: Record<string, unknown> | null;
  @ApiProperty({ format: 'date-time' }) at: string;
  @ApiProperty({ example: '42', description: 'the audit row of the change' }) audit_seq: string;
}

export class KlearAnswerView {
  @ApiProperty({ example: '3' }) attempt_id: string;
  @ApiProperty({ format: 'date-time' }) received_at: string;
  @ApiProperty({ example: 'created' }) outcome: string;
  @ApiProperty({ type: Number, nullable: true, example: 200 }) http_status: number | null;
  @ApiProperty(nullableText('wd_01HXYZ')) klear_withdrawal_id: string | null;
  @ApiProperty(nullableText()) klear_code: string | null;
  @ApiProperty(nullableText()) message: string | null;
  @ApiProperty(nullableText(undefined, 'the body Klear answered, as received')) body: string | null;
}

export class WithdrawalDetailView extends WithdrawalView {
  @ApiProperty({ type: [ApprovalView], description: 'every decision, every round' }) approvals: ApprovalView[];
  @ApiProperty({ type: [AttemptView] }) attempts: AttemptView[];
  @ApiProperty({ type: [HistoryView], description: 'every state change, oldest first' }) history: HistoryView[];
  @ApiProperty({ type: [KlearAnswerView], description: "every answer Klear gave to the request's POSTs" }) klear_answers: KlearAnswerView[];
}

export class HeadroomView {
  @ApiProperty(cc('4999000000')) headroom_centicents: string;
  @ApiProperty(usd('$499,900.0000')) headroom_usd: string;
  @ApiProperty(
    freeForm(
      'every term of the headroom (available, locked, payable obligations, estimate, reserve floor, ...), centicents as decimal strings',
    ),
  )
  figures: Record<string, unknown>;
}

export class QueuedWithdrawalView extends WithdrawalView {
  @ApiProperty({ example: 360 }) age_seconds: number;
  @ApiProperty({ example: 1, description: 'approvals counted in the current round' }) approvals_so_far: number;
  @ApiProperty({ type: Boolean, nullable: true, description: 'null: the headroom could not be read' }) fits_current_headroom:
    boolean | null;
}

export class WithdrawalQueueView {
  @ApiProperty({ type: [QueuedWithdrawalView], description: "waiting for the caller's decision, oldest first" })
  data: QueuedWithdrawalView[];
  @ApiProperty({ type: String, nullable: true, description: 'always null: the queue is one page' }) next_cursor: string | null;
  @ApiProperty({ type: HeadroomView, nullable: true }) headroom: HeadroomView | null;
  @ApiProperty(nullableText(undefined, 'why the headroom could not be read')) headroom_error: string | null;
}

export class TierView {
  @ApiProperty({ example: 2 }) approvals_required: number;
  @ApiProperty(roles) roles_required: string[];
}

export class PendingApprovalView {
  @ApiProperty({ format: 'uuid' }) approver_id: string;
  @ApiProperty({ example: 'test-approver' }) name: string;
  @ApiProperty({ format: 'date-time' }) decided_at: string;
  @ApiProperty(nullableText('ok per treasury sweep plan')) comment: string | null;
}

export class CallerMayDecideView {
  @ApiProperty() can_decide: boolean;
  @ApiProperty(nullableText('You requested this withdrawal: another approver must decide.')) why_not: string | null;
}

export class PendingWithdrawalView extends WithdrawalView {
  @ApiProperty({ example: 360 }) age_seconds: number;
  @ApiProperty({ type: TierView }) tier: TierView;
  @ApiProperty({ type: [PendingApprovalView], description: 'approvals of the current round' }) approvals: PendingApprovalView[];
  @ApiProperty({
    type: String,
    nullable: true,
    example: '4999000000',
    description: 'centicents, decimal string: the headroom when it was requested',
  })
  headroom_at_request_centicents: string | null;
  @ApiProperty({ type: Boolean, nullable: true, description: 'null: the headroom could not be read' }) fits_current_headroom:
    boolean | null;
  @ApiProperty({ type: CallerMayDecideView }) you: CallerMayDecideView;
}

export class PendingWithdrawalsView {
  @ApiProperty({ format: 'date-time' }) now: string;
  @ApiProperty({ type: [PendingWithdrawalView], description: 'oldest first' }) data: PendingWithdrawalView[];
  @ApiProperty({ type: HeadroomView, nullable: true }) headroom: HeadroomView | null;
  @ApiProperty(nullableText(undefined, 'why the headroom could not be read')) headroom_error: string | null;
}

export class ApprovalOutcomeView extends WithdrawalView {
  @ApiProperty({ description: 'false: this approver had already approved (nothing changed)' }) counted: boolean;
  @ApiProperty({ example: 1 }) approvals_so_far: number;
  @ApiProperty({ ...roles, example: [], description: 'roles the tier still needs among the approvers' }) roles_missing: string[];
}

export class RevocationOutcomeView extends WithdrawalView {
  @ApiProperty({ example: 0 }) approvals_so_far: number;
  @ApiProperty({ ...roles, example: [] }) roles_missing: string[];
}

export class ManualResolutionView {
  @ApiProperty({ example: '1' }) id: string;
  @ApiProperty({ format: 'uuid' }) request_id: string;
  @ApiProperty({ example: '3' }) attempt_id: string;
  @ApiProperty({ enum: ['submitted', 'not_submitted'] }) conclusion: string;
  @ApiProperty(nullableText('wd_01HXYZ')) klear_withdrawal_id: string | null;
  @ApiProperty({ example: 'in Klear history as locked' }) reason: string;
  @ApiProperty({ enum: ['pending', 'confirmed', 'rejected', 'void'] }) state: string;
  @ApiProperty({ example: 'test-approver' }) proposed_by: string;
  @ApiProperty({ format: 'date-time' }) proposed_at: string;
  @ApiProperty(nullableText('test-approver2')) decided_by: string | null;
  @ApiProperty(nullableTime()) decided_at: string | null;
  @ApiProperty(nullableText()) decision_reason: string | null;
}

export class ManualResolutionsView {
  @ApiProperty({ type: [ManualResolutionView] }) data: ManualResolutionView[];
  @ApiProperty({ type: String, nullable: true, description: 'always null: one page' }) next_cursor: string | null;
}

export class ResolvedWithdrawalView extends WithdrawalView {
  @ApiProperty({ type: ManualResolutionView }) resolution: ManualResolutionView;
}

export class DecisionBindingView {
  @ApiProperty({ enum: ['approve', 'reject'] }) action: string;
  @ApiProperty({ format: 'uuid' }) request_id: string;
  @ApiProperty(cc('2500000000')) amount_centicents: string;
  @ApiProperty({ example: 'monthly sweep to the operating account' }) purpose: string;
  @ApiProperty({ example: 3 }) version: number;
  @ApiProperty({ example: 'n-3f2a', description: 'single-use' }) nonce: string;
}

export class StepUpChallengeView {
  @ApiProperty({ example: 'n-3f2a', description: 'send back as step_up.nonce' }) nonce: string;
  @ApiProperty(freeForm('WebAuthn PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get()')) options: object;
  @ApiProperty({ type: DecisionBindingView, description: 'the decision the challenge is derived from' }) binding: DecisionBindingView;
  @ApiProperty({ example: 'q83v...', description: 'base64url SHA-256 of the binding' }) challenge: string;
}

export class StepUpEvidenceView {
  @ApiProperty({ example: 1 }) round: number;
  @ApiProperty({ type: PersonView }) approver: PersonView;
  @ApiProperty({ enum: ['approve', 'reject'] }) decision: string;
  @ApiProperty({ enum: ['totp', 'passkey'] }) method: string;
  @ApiProperty({ format: 'date-time' }) decided_at: string;
  @ApiProperty({ type: DecisionBindingView }) binding: DecisionBindingView;
  @ApiProperty(nullableText(undefined, 'passkey: the challenge signed')) challenge: string | null;
  @ApiProperty(nullableText('59123456', 'totp: the time step of the code used (never the code)')) totp_step: string | null;
  @ApiProperty(nullableText()) credential_id: string | null;
  @ApiProperty(nullableText()) public_key_cose_base64url: string | null;
  @ApiProperty(nullableText('https://backoffice.example')) origin: string | null;
  @ApiProperty(nullableText('backoffice.example')) rp_id: string | null;
  @ApiProperty(freeForm('passkey: the WebAuthn assertion as given', true)) assertion: object | null;
  @ApiProperty({
    type: Boolean,
    nullable: true,
    description: 'passkey: the assertion verified again from the stored public key and binding; null for totp',
  })
  signature_verified: boolean | null;
}

export class StepUpEvidenceListView {
  @ApiProperty({ type: [StepUpEvidenceView] }) data: StepUpEvidenceView[];
}

export class PolicyTierView {
  @ApiProperty(cc('1000000000', 'the tier applies from this amount')) min_amount_centicents: string;
  @ApiProperty(usd('$100,000.0000')) min_amount_usd: string;
  @ApiProperty({ example: 2 }) approvals_required: number;
  @ApiProperty({ ...roles, example: ['admin'] }) roles_required: string[];
}

export class WithdrawalPolicyView {
  @ApiProperty({ example: 2 }) version: number;
  @ApiProperty({ type: [PolicyTierView] }) tiers: PolicyTierView[];
  @ApiProperty({ example: 86400 }) expiry_seconds: number;
  @ApiProperty(cc('0', 'kept in the buffer on top of payable obligations')) reserve_floor_centicents: string;
  @ApiProperty(usd('$0.0000')) reserve_floor_usd: string;
  @ApiProperty(cc('10000000000000', 'largest single withdrawal')) cap_centicents: string;
  @ApiProperty(usd('$1,000,000,000.0000')) cap_usd: string;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty({ example: 'test-admin' }) created_by: string;
}
