import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { WithdrawalTx } from '@app/withdrawals';
import { DataSource } from 'typeorm';

/** What a step-up binds to: the request as the approver sees it. */
export interface StepUpRequestRow {
  id: string;
  amount_centicents: string;
  purpose: string;
  version: number;
}

/** The decision a second factor was given for (withdrawal_decision_step_up). */
export interface StepUpDecision {
  requestId: string;
  round: number;
  approverId: string;
  decision: 'approve' | 'reject';
  requestVersion: number;
  amountCenticents: string;
  purpose: string;
  createdAt: Date;
}

/** A stored second factor of a decision, with the approver's name. */
export interface StepUpEvidenceRow {
  round: number;
  approver_id: string;
  approver_name: string;
  decision: 'approve' | 'reject';
  method: 'totp' | 'passkey';
  request_version: number;
  amount_centicents: string;
  purpose: string;
  nonce: string | null;
  challenge: string | null;
  credential_id: string | null;
  public_key: Buffer | null;
  totp_step: string | null;
  assertion: { response: AuthenticationResponseJSON; origin: string; rp_id: string } | null;
  created_at: Date;
}

/** The second factors given on withdrawal decisions (withdrawal_decision_step_up), and what they bind to. */
@Injectable()
export class WithdrawalStepUpRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async requestToBind(id: string): Promise<StepUpRequestRow | null> {
    const [row] = (await this.dataSource.query(
      `SELECT id, amount_centicents, purpose, version, state FROM withdrawal_request WHERE id = $1`,
      [id],
    )) as StepUpRequestRow[];
    return row ?? null;
  }

  /** A TOTP step-up, in the decision's transaction. */
  async insertTotp(m: WithdrawalTx, d: StepUpDecision, totpStep: number): Promise<void> {
    await m.query(
      `INSERT INTO withdrawal_decision_step_up (request_id, round, approver_id, decision, method, request_version, amount_centicents, purpose, totp_step, created_at)
       VALUES ($1, $2, $3, $4, 'totp', $5, $6, $7, $8, $9)`,
      [d.requestId, d.round, d.approverId, d.decision, d.requestVersion, d.amountCenticents, d.purpose, totpStep, d.createdAt],
    );
  }

  /** A passkey step-up (the verified assertion and what verifies it again), in the decision's transaction. */
  async insertPasskey(
    m: WithdrawalTx,
    d: StepUpDecision,
    p: { nonce: string; challenge: string; credentialId: string; publicKey: unknown; assertion: string },
  ): Promise<void> {
    await m.query(
      `INSERT INTO withdrawal_decision_step_up (request_id, round, approver_id, decision, method, request_version, amount_centicents, purpose, nonce, challenge, credential_id, public_key, assertion, created_at)
       VALUES ($1, $2, $3, $4, 'passkey', $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [
        d.requestId,
        d.round,
        d.approverId,
        d.decision,
        d.requestVersion,
        d.amountCenticents,
        d.purpose,
        p.nonce,
        p.challenge,
        p.credentialId,
        p.publicKey,
        p.assertion,
        d.createdAt,
      ],
    );
  }

  /** Every second factor given on this request, in the order they were given. */
  evidenceOf(id: string): Promise<StepUpEvidenceRow[]> {
    return this.dataSource.query(
      `SELECT s.*, u.name AS approver_name FROM withdrawal_decision_step_up s JOIN app_user u ON u.id = s.approver_id WHERE s.request_id = $1 ORDER BY s.id`,
      [id],
    );
  }
}
