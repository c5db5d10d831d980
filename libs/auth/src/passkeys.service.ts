import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { AuditService } from '@app/audit';
import { Clock } from '@app/clock';
import { type DbTransaction, DbTransactions } from '@app/db';
import { InvalidInput } from '@app/errors';
import { StepUpRefused } from './console-auth.service';
import { PasskeyRepository } from './passkey.repository';
import type { Principal } from './principal';

const CHALLENGE_SECONDS = 300;

/** Where the console runs, as WebAuthn sees it: the exact origin and the relying-party id (its host name). */
export interface RelyingParty {
  origin: string;
  rpId: string;
}

/** What a withdrawal decision's challenge is derived from: anyone holding these can recompute it. */
export interface DecisionBinding {
  action: 'approve' | 'reject';
  requestId: string;
  amountCenticents: string;
  purpose: string;
  version: number;
  nonce: string;
}

/**
 * The WebAuthn challenge of a withdrawal decision: base64url(SHA-256 of the decision's fields, one per
 * line, after a domain label). The signed assertion over it proves that this person's passkey approved
 * exactly this request (id, amount, purpose) in exactly this version.
 */
export function decisionChallenge(b: DecisionBinding): string {
  const text = ['klear/withdrawal-decision/v1', b.action, b.requestId, b.amountCenticents, b.purpose, String(b.version), b.nonce].join(
    '\n',
  );
  return createHash('sha256').update(text, 'utf8').digest('base64url');
}

export interface StoredPasskey {
  credentialId: string;
  publicKey: Uint8Array;
  counter: number;
}

/** Passkeys (WebAuthn) of console users: enrolment, and single-use challenges for step-up. */
@Injectable()
export class PasskeysService {
  constructor(
    private readonly transactions: DbTransactions,
    private readonly passkeys: PasskeyRepository,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  count(userId: string): Promise<number> {
    return this.passkeys.count(userId);
  }

  async registrationOptions(who: Principal, rp: RelyingParty) {
    const existing = await this.credentialsOf(who.userId);
    const options = await generateRegistrationOptions({
      rpName: 'Klear ops console',
      rpID: rp.rpId,
      userName: who.name,
      userID: new Uint8Array(Buffer.from(who.userId.replace(/-/g, ''), 'hex')),
      attestationType: 'none',
      excludeCredentials: existing.map((c) => ({ id: c.credentialId })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    });
    await this.storeChallenge(options.challenge, who.userId, 'passkey.register', null, null, options.challenge);
    return options;
  }

  async register(who: Principal, response: RegistrationResponseJSON, rp: RelyingParty): Promise<{ credentialId: string }> {
    const challenge = clientChallenge(response.response?.clientDataJSON);
    return this.transactions.run(async (tx) => {
      await this.takeChallenge(tx, challenge, who.userId, 'passkey.register', null);
      const verification = await verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.rpId,
        requireUserVerification: false,
      }).catch((e: unknown) => {
        throw new InvalidInput(`the passkey could not be verified: ${e instanceof Error ? e.message : String(e)}`);
      });
      if (!verification.verified || !verification.registrationInfo) throw new InvalidInput('the passkey could not be verified');
      const { credential } = verification.registrationInfo;
      await this.passkeys.insert(tx, {
        userId: who.userId,
        credentialId: credential.id,
        publicKey: credential.publicKey,
        counter: credential.counter,
        transports: credential.transports ?? [],
        createdAt: this.clock.now(),
      });
      await this.audit.record(
        {
          actor: who.name,
          action: 'console.passkey_enrolled',
          entityType: 'user',
          entityId: who.userId,
          details: { credential_id: credential.id },
        },
        tx,
      );
      return { credentialId: credential.id };
    });
  }

  /** A decision challenge bound to the request as it is now: returns the nonce and the browser's options. */
  async decisionOptions(who: Principal, binding: Omit<DecisionBinding, 'nonce'>, rp: RelyingParty) {
    const credentials = await this.credentialsOf(who.userId);
    if (credentials.length === 0)
      throw new StepUpRefused('you have no passkey: enrol one on the Administration page, or use your authenticator code');
    const nonce = randomBytes(16).toString('base64url');
    const challenge = decisionChallenge({ ...binding, nonce });
    await this.storeChallenge(nonce, who.userId, `withdrawal.${binding.action}`, binding.requestId, binding.version, challenge);
    const options = await generateAuthenticationOptions({
      rpID: rp.rpId,
      challenge: new Uint8Array(Buffer.from(challenge, 'base64url')),
      allowCredentials: credentials.map((c) => ({ id: c.credentialId })),
      userVerification: 'preferred',
    });
    return { nonce, options, binding: { ...binding, nonce }, challenge };
  }

  /**
   * Verifies a decision's assertion inside the decision's transaction (the request row locked), against
   * the request's current fields: a request that changed since the challenge is refused. Consumes the
   * challenge and advances the credential's counter. Returns what is stored as evidence.
   */
  async verifyDecision(
    tx: DbTransaction,
    who: Principal,
    binding: DecisionBinding,
    assertion: AuthenticationResponseJSON,
    rp: RelyingParty,
  ) {
    const challenge = decisionChallenge(binding);
    const stored = await this.takeChallenge(tx, binding.nonce, who.userId, `withdrawal.${binding.action}`, binding.requestId);
    if (stored.challenge !== challenge)
      throw new StepUpRefused(
        'the request changed since your passkey was asked (amount, purpose or version): look at it again and decide again',
      );
    const credential = await this.passkeys.lock(tx, who.userId, assertion?.id ?? '');
    if (!credential) throw new StepUpRefused('this passkey is not one of yours');
    const result = await verifyAuthenticationResponse({
      response: assertion,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpId,
      credential: { id: credential.credential_id, publicKey: new Uint8Array(credential.public_key), counter: Number(credential.counter) },
      requireUserVerification: false,
    }).catch((e: unknown) => {
      throw new StepUpRefused(`the passkey signature does not verify: ${e instanceof Error ? e.message : String(e)}`);
    });
    if (!result.verified) throw new StepUpRefused('the passkey signature does not verify');
    await this.passkeys.setCounter(tx, credential.credential_id, result.authenticationInfo.newCounter);
    return { challenge, credentialId: credential.credential_id, publicKey: credential.public_key };
  }

  private async credentialsOf(userId: string): Promise<StoredPasskey[]> {
    const rows = await this.passkeys.listOf(userId);
    return rows.map((r) => ({ credentialId: r.credential_id, publicKey: new Uint8Array(r.public_key), counter: Number(r.counter) }));
  }

  private async storeChallenge(
    nonce: string,
    userId: string,
    purpose: string,
    requestId: string | null,
    version: number | null,
    challenge: string,
  ) {
    const now = this.clock.now();
    await this.passkeys.storeChallenge({
      nonce,
      userId,
      purpose,
      requestId,
      version,
      challenge,
      createdAt: now,
      expiresAt: new Date(now.getTime() + CHALLENGE_SECONDS * 1000),
    });
  }

  private async takeChallenge(
    tx: DbTransaction,
    nonce: string,
    userId: string,
    purpose: string,
    requestId: string | null,
  ): Promise<{ challenge: string }> {
    const row = await this.passkeys.take(tx, { nonce, userId, purpose, requestId, now: this.clock.now() });
    if (!row) throw new StepUpRefused('this challenge is unknown, expired or already used: ask for a new one');
    return row;
  }
}

function clientChallenge(clientDataJSON: string | undefined): string {
  try {
    const parsed = JSON.parse(Buffer.from(clientDataJSON ?? '', 'base64url').toString('utf8')) as { challenge?: unknown };
    if (typeof parsed.challenge === 'string') return parsed.challenge;
  } catch {
    // answered below
  }
  throw new InvalidInput('the passkey response carries no readable challenge');
}

/**
 * Re-verifies a stored decision assertion from its stored fields alone (public key, binding, origin):
 * what an auditor runs later to see who approved exactly what.
 */
export async function verifyStoredDecision(evidence: {
  binding: DecisionBinding;
  credentialId: string;
  publicKey: Uint8Array;
  assertion: AuthenticationResponseJSON;
  origin: string;
  rpId: string;
}): Promise<boolean> {
  try {
    const result = await verifyAuthenticationResponse({
      response: evidence.assertion,
      expectedChallenge: decisionChallenge(evidence.binding),
      expectedOrigin: evidence.origin,
      expectedRPID: evidence.rpId,
      credential: { id: evidence.credentialId, publicKey: new Uint8Array(evidence.publicKey), counter: 0 },
      requireUserVerification: false,
    });
    return result.verified;
  } catch {
    return false;
  }
}
