import { Injectable } from '@nestjs/common';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import {
  ConsoleAuthService,
  type DecisionBinding,
  PasskeysService,
  type Principal,
  type RelyingParty,
  StepUpRefused,
  verifyStoredDecision,
} from '@app/auth';
import { Clock } from '@app/clock';
import type { WithdrawalRequest } from '@app/db';
import { DomainError, NotFound } from '@app/errors';
import type { DecisionBinding as DecisionHook, WithdrawalTx } from '@app/withdrawals';
import { WithdrawalStepUpRepository } from './step-up.repository';
import type { DecisionBindingView, StepUpChallengeView, StepUpEvidenceView } from './withdrawal-responses.dto';

export interface StepUpInput {
  method: 'totp' | 'passkey';
  code?: string;
  nonce?: string;
  assertion?: Record<string, unknown>;
  version?: number;
}

export class StepUpRequired extends DomainError {
  constructor() {
    super(
      'STEP_UP_REQUIRED',
      'forbidden',
      'deciding on a withdrawal needs a fresh second factor bound to this request: step_up with your authenticator code or a passkey assertion',
    );
  }
}

/**
 * Step-up for withdrawal decisions. Who must give it: everyone deciding through a console session, and
 * anyone with console credentials whatever the channel (an API token alone cannot approve money for a
 * person who has a second factor). Legacy script users without console credentials keep token-only
 * decisions (docs/console.md says so and how to close it).
 */
@Injectable()
export class WithdrawalStepUpService {
  constructor(
    private readonly repository: WithdrawalStepUpRepository,
    private readonly auth: ConsoleAuthService,
    private readonly passkeys: PasskeysService,
    private readonly clock: Clock,
  ) {}

  async required(who: Principal): Promise<boolean> {
    return Boolean(who.sessionId) || (await this.auth.hasSecondFactor(who.userId));
  }

  async challenge(id: string, action: 'approve' | 'reject', who: Principal, rp: RelyingParty): Promise<StepUpChallengeView> {
    const row = await this.repository.requestToBind(id);
    if (!row) throw new NotFound('withdrawal', id);
    const out = await this.passkeys.decisionOptions(
      who,
      { action, requestId: row.id, amountCenticents: String(row.amount_centicents), purpose: row.purpose, version: row.version },
      rp,
    );
    return { nonce: out.nonce, options: out.options, binding: bindingView(out.binding), challenge: out.challenge };
  }

  /** The hook run inside the decision's transaction: checks the second factor against the locked request and stores the evidence. */
  async hook(
    who: Principal,
    action: 'approve' | 'reject',
    input: StepUpInput | undefined,
    rp: RelyingParty,
  ): Promise<DecisionHook | undefined> {
    if (!input) {
      if (await this.required(who)) throw new StepUpRequired();
      return undefined;
    }
    return async (m: WithdrawalTx, request: WithdrawalRequest) => {
      if (input.version !== undefined && input.version !== request.version) {
        throw new StepUpRefused(
          `the request changed since you looked at it (version ${input.version}, now ${request.version}): look at it again and decide again`,
        );
      }
      const base = {
        requestId: request.id,
        amountCenticents: request.amountCenticents.toString(),
        purpose: request.purpose,
        version: request.version,
      };
      const decision = {
        requestId: request.id,
        round: request.approvalRound,
        approverId: who.userId,
        decision: action,
        requestVersion: request.version,
        amountCenticents: base.amountCenticents,
        purpose: request.purpose,
        createdAt: this.clock.now(),
      };
      if (input.method === 'totp') {
        const step = await this.auth.verifyStepUpTotp(who.userId, input.code ?? '', m);
        await this.repository.insertTotp(m, decision, step);
        return;
      }
      const binding: DecisionBinding = { action, ...base, nonce: input.nonce ?? '' };
      const verified = await this.passkeys.verifyDecision(m, who, binding, input.assertion as unknown as AuthenticationResponseJSON, rp);
      await this.repository.insertPasskey(m, decision, {
        nonce: binding.nonce,
        challenge: verified.challenge,
        credentialId: verified.credentialId,
        publicKey: verified.publicKey,
        assertion: JSON.stringify({ response: input.assertion, origin: rp.origin, rp_id: rp.rpId }),
      });
    };
  }

  /** Every second factor given on this request, each passkey assertion verified again from the stored fields alone. */
  async evidence(id: string): Promise<StepUpEvidenceView[]> {
    const rows = await this.repository.evidenceOf(id);
    const out: StepUpEvidenceView[] = [];
    for (const r of rows) {
      const binding: DecisionBinding = {
        action: r.decision,
        requestId: id,
        amountCenticents: String(r.amount_centicents),
        purpose: r.purpose,
        version: r.request_version,
        nonce: r.nonce ?? '',
      };
      const verified =
        r.method === 'passkey' && r.assertion && r.public_key && r.credential_id
          ? await verifyStoredDecision({
              binding,
              credentialId: r.credential_id,
              publicKey: new Uint8Array(r.public_key),
              assertion: r.assertion.response,
              origin: r.assertion.origin,
              rpId: r.assertion.rp_id,
            })
          : null;
      out.push({
        round: r.round,
        approver: { id: r.approver_id, name: r.approver_name },
        decision: r.decision,
        method: r.method,
        decided_at: r.created_at.toISOString(),
        binding: bindingView(binding),
        challenge: r.challenge,
        totp_step: r.totp_step,
        credential_id: r.credential_id,
        public_key_cose_base64url: r.public_key ? r.public_key.toString('base64url') : null,
        origin: r.assertion?.origin ?? null,
        rp_id: r.assertion?.rp_id ?? null,
        assertion: r.assertion?.response ?? null,
        signature_verified: verified,
      });
    }
    return out;
  }
}

function bindingView(b: DecisionBinding): DecisionBindingView {
  return {
    action: b.action,
    request_id: b.requestId,
    amount_centicents: b.amountCenticents,
    purpose: b.purpose,
    version: b.version,
    nonce: b.nonce,
  };
}
