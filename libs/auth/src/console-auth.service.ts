import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import { Secret, TOTP } from 'otpauth';
import { AuditService } from '@app/audit';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { type DbTransaction, DbTransactions } from '@app/db';
import { DomainError, InvalidInput, NotFound, TooManyRequests } from '@app/errors';
import { Keyring, SecretBox } from '@app/secrets';
import { ConsoleCredentialRepository } from './console-credential.repository';
import { type ConsoleSessionRow, ConsoleSessionRepository } from './console-session.repository';
import type { Principal } from './principal';
import { UserRepository } from './user.repository';

/** argon2id (RFC 9106 second recommended profile, OWASP minimum: 19 MiB, 2 passes, 1 lane). `2` is Algorithm.Argon2id. */
const ARGON2 = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
export const TOTP_PERIOD = 30;
const TOTP_ISSUER = 'Klear ops';
export const SESSION_COOKIE = 'klear_session';
const MIN_PASSWORD_LENGTH = 12;

export class SignInRefused extends DomainError {
  constructor() {
    super('SIGN_IN_REFUSED', 'unauthenticated', 'wrong username, password or authenticator code');
  }
}

export class StepUpRefused extends DomainError {
  constructor(message: string) {
    super('STEP_UP_REFUSED', 'forbidden', message);
  }
}

export interface ConsoleSession {
  id: string;
  userId: string;
  csrfToken: string;
  createdAt: Date;
  lastSeenAt: Date;
  absoluteExpiresAt: Date;
  idleExpiresAt: Date;
}

export interface SignedIn {
  token: string;
  session: ConsoleSession;
  principal: Principal;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

export function totpOf(secretBase32: string, label: string): TOTP {
  return new TOTP({
    issuer: TOTP_ISSUER,
    label,
    secret: Secret.fromBase32(secretBase32),
    algorithm: 'SHA1',
    digits: 6,
    period: TOTP_PERIOD,
  });
}

/** The code an authenticator app shows at `atMs` (the CLI's totp:code, the demo and tests). */
export function totpCode(secretBase32: string, atMs: number): string {
  return TOTP.generate({ secret: Secret.fromBase32(secretBase32), algorithm: 'SHA1', digits: 6, period: TOTP_PERIOD, timestamp: atMs });
}

/**
 * People's sign-in to the ops console: username + argon2id password + a TOTP code (RFC 6238, SHA-1,
 * 6 digits, 30 s, one step either side), sessions kept server-side (only the SHA-256 of the cookie
 * value is stored) with idle and absolute timeouts, failed sign-ins counted per person with a lockout.
 * A TOTP code is accepted once: a step at or before the last one used is refused (replay).
 * Every time reading goes through the Clock.
 */
@Injectable()
export class ConsoleAuthService implements OnApplicationBootstrap {
  private readonly dummyHash: Promise<string>;
  /** Seals TOTP secrets at rest (SECRETS_KEY); null without a key (development: kept in clear). */
  private readonly box: SecretBox | null;
  private readonly logger = new Logger('ConsoleAuth');

  constructor(
    private readonly transactions: DbTransactions,
    private readonly credentials: ConsoleCredentialRepository,
    private readonly sessions: ConsoleSessionRepository,
    private readonly users: UserRepository,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    // Unknown usernames cost one argon2 verification too: timing does not tell who exists.
    this.dummyHash = argon2Hash(randomBytes(16).toString('hex'), ARGON2);
    this.box = Keyring.fromConfig(config)?.secretBox() ?? null;
  }

  /** At start: secrets still in clear (or under an older key) are sealed with the current key. */
  async onApplicationBootstrap(): Promise<void> {
    const sealed = await this.sealStoredTotpSecrets();
    if (sealed > 0) this.logger.log(`sealed ${sealed} TOTP secret(s) with key ${this.box!.currentKeyId}`);
  }

  /**
   * Seals with the current SECRETS_KEY every TOTP secret stored in clear or under an older key (after
   * a rotation); answers how many. Without SECRETS_KEY nothing changes. Rows are locked while re-sealed.
   */
  async sealStoredTotpSecrets(): Promise<number> {
    const box = this.box;
    if (!box) return 0;
    return this.transactions.run(async (tx) => {
      const rows = await this.credentials.lockNotSealedWith(tx, box.currentKeyId);
      let sealed = 0;
      for (const row of rows) {
        let secret: string;
        try {
          secret = this.openTotp(row.user_id, row.totp_secret, row.totp_key_id);
        } catch (error) {
          // One envelope that does not open (tampered, a key no longer held) must not stop the others or the start.
          this.logger.error(
            `the TOTP secret of user ${row.user_id} does not open (${(error as Error).message}): left as it is; that person needs new credentials`,
          );
          continue;
        }
        const stored = this.sealTotp(row.user_id, secret);
        await this.credentials.replaceTotpSecret(tx, row.user_id, stored.secret, stored.keyId);
        sealed++;
      }
      return sealed;
    });
  }

  /** The TOTP secret of a person, in clear (the CLI's totp:code and the demo), or null when none is enrolled. */
  async totpSecretOf(userId: string): Promise<string | null> {
    const stored = await this.credentials.findTotp(userId);
    return stored ? this.openTotp(userId, stored.totp_secret, stored.totp_key_id) : null;
  }

  /** The row's context binds an envelope to its person: a sealed secret copied to another user's row does not open. */
  private sealTotp(userId: string, secret: string): { secret: string; keyId: string | null } {
    return this.box
      ? { secret: this.box.seal(secret, `console_credential.totp_secret:${userId}`), keyId: this.box.currentKeyId }
      : { secret, keyId: null };
  }

  private openTotp(userId: string, stored: string, keyId: string | null): string {
    if (keyId === null) return stored;
    if (!this.box) throw new Error('TOTP secrets are sealed but SECRETS_KEY is not set: configure the key they were sealed with');
    return this.box.open(stored, `console_credential.totp_secret:${userId}`);
  }

  /** Sets (or replaces) a person's password and a new TOTP secret; returns the secret and its otpauth:// URI. */
  async setCredentials(userId: string, password: string, actor: string): Promise<{ secret: string; uri: string }> {
    if (password.length < MIN_PASSWORD_LENGTH) throw new InvalidInput(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
    const user = await this.users.findById(userId);
    if (!user || user.disabledAt) throw new NotFound('user', userId);
    const secret = new Secret({ size: 20 }).base32;
    const passwordHash = await argon2Hash(password, ARGON2);
    const sealed = this.sealTotp(userId, secret);
    const now = this.clock.now();
    await this.transactions.run(async (tx) => {
      await this.credentials.enrol(tx, { userId, passwordHash, secret: sealed.secret, keyId: sealed.keyId, at: now });
      // New credentials end every open session of that person.
      await this.sessions.revokeAllOf(tx, userId, now);
      await this.audit.record(
        { actor, action: 'console.credentials_set', entityType: 'user', entityId: userId, details: { totp: 'enrolled' } },
        tx,
      );
    });
    return { secret, uri: totpOf(secret, user.name).toString() };
  }

  async hasSecondFactor(userId: string): Promise<boolean> {
    return this.credentials.exists(userId);
  }

  async signIn(username: string, password: string, code: string, client: string | null): Promise<SignedIn> {
    const row = await this.credentials.findForSignIn(username);
    const now = this.clock.now();
    if (!row) {
      await argon2Verify(await this.dummyHash, password).catch(() => false);
      throw new SignInRefused();
    }
    if (row.locked_until && row.locked_until.getTime() > now.getTime()) {
      const seconds = Math.ceil((row.locked_until.getTime() - now.getTime()) / 1000);
      throw new TooManyRequests(`too many failed sign-ins: this account is locked for ${seconds} s more`, seconds, 'SIGN_IN_LOCKED');
    }
    const passwordOk = await argon2Verify(row.password_hash, password).catch(() => false);
    const step = passwordOk ? await this.consumeTotp(row.id, this.openTotp(row.id, row.totp_secret, row.totp_key_id), code) : null;
    if (!passwordOk || step === null) {
      await this.recordFailure(row.id, row.name, now);
      throw new SignInRefused();
    }
    const token = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    const absolute = new Date(now.getTime() + this.config.console.absoluteSeconds * 1000);
    const session = await this.transactions.run(async (tx) => {
      await this.credentials.clearFailures(tx, row.id);
      const id = await this.sessions.insert(tx, {
        tokenHash: sha256(token),
        userId: row.id,
        csrfToken,
        at: now,
        absoluteExpiresAt: absolute,
        client,
      });
      await this.audit.record(
        {
          actor: row.name,
          action: 'console.sign_in',
          entityType: 'console_session',
          entityId: id,
          toState: 'active',
          details: { client },
        },
        tx,
      );
      return { id };
    });
    return {
      token,
      session: this.sessionOf({
        id: session.id,
        user_id: row.id,
        csrf_token: csrfToken,
        created_at: now,
        last_seen_at: now,
        absolute_expires_at: absolute,
      }),
      principal: { userId: row.id, name: row.name, roles: row.roles, tokenId: null, sessionId: session.id },
    };
  }

  /** The session behind a cookie value, or null (unknown, revoked, idle too long, past its absolute end). Touches it. */
  async authenticate(token: string): Promise<{ principal: Principal; session: ConsoleSession } | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
    const row = await this.sessions.findOpen(sha256(token));
    if (!row) return null;
    const now = this.clock.now();
    const session = this.sessionOf(row);
    if (now.getTime() >= session.idleExpiresAt.getTime() || now.getTime() >= session.absoluteExpiresAt.getTime()) return null;
    // Idle timer: touched at most every 10 s (one write per burst of requests).
    if (now.getTime() - row.last_seen_at.getTime() >= 10_000) {
      await this.sessions.touch(row.id, now);
      session.lastSeenAt = now;
      session.idleExpiresAt = new Date(now.getTime() + this.config.console.idleSeconds * 1000);
    }
    return { principal: { userId: row.user_id, name: row.name, roles: row.roles, tokenId: null, sessionId: row.id }, session };
  }

  async signOut(sessionId: string, actor: string): Promise<void> {
    await this.transactions.run(async (tx) => {
      await this.sessions.revoke(tx, sessionId, this.clock.now());
      await this.audit.record(
        { actor, action: 'console.sign_out', entityType: 'console_session', entityId: sessionId, toState: 'revoked' },
        tx,
      );
    });
  }

  /**
   * Checks a TOTP code of this person and consumes its time step (a code works once). Returns the
   * step, or null when wrong or already used. `tx`: inside the caller's transaction.
   */
  async consumeTotp(userId: string, secret: string, code: string, tx?: DbTransaction): Promise<number | null> {
    if (!/^\d{6}$/.test(code)) return null;
    const nowMs = this.clock.nowMs();
    const delta = TOTP.validate({
      token: code,
      secret: Secret.fromBase32(secret),
      algorithm: 'SHA1',
      digits: 6,
      period: TOTP_PERIOD,
      timestamp: nowMs,
      window: 1,
    });
    if (delta === null) return null;
    const step = Math.floor(nowMs / 1000 / TOTP_PERIOD) + delta;
    return (await this.credentials.consumeStep(userId, step, tx)) ? step : null;
  }

  /** A step-up TOTP check (approval dialogs): the person's own secret, one use per code. Counts failures like sign-in. */
  async verifyStepUpTotp(userId: string, code: string, tx?: DbTransaction): Promise<number> {
    const stored = await this.credentials.findForStepUp(userId, tx);
    if (!stored)
      throw new StepUpRefused('no authenticator is enrolled for you: set one up (npm run cli -- console:credentials) before deciding');
    const now = this.clock.now();
    if (stored.locked_until && stored.locked_until.getTime() > now.getTime())
      throw new StepUpRefused('too many wrong codes: your account is locked for now');
    const step = await this.consumeTotp(userId, this.openTotp(userId, stored.totp_secret, stored.totp_key_id), code, tx);
    if (step === null) {
      await this.recordFailure(userId, userId, now);
      throw new StepUpRefused('the authenticator code is wrong or was already used');
    }
    return step;
  }

  private async recordFailure(userId: string, name: string, now: Date): Promise<void> {
    const { maxFailures, lockoutSeconds } = this.config.console;
    const until = new Date(now.getTime() + lockoutSeconds * 1000);
    await this.transactions.run(async (tx) => {
      const lockedUntil = await this.credentials.countFailure(tx, userId, maxFailures, until);
      const locked = lockedUntil?.getTime() === until.getTime();
      await this.audit.record(
        {
          actor: name,
          action: locked ? 'console.locked_out' : 'console.sign_in_failed',
          entityType: 'user',
          entityId: userId,
          details: locked ? { locked_until: until.toISOString() } : {},
        },
        tx,
      );
    });
  }

  private sessionOf(row: ConsoleSessionRow): ConsoleSession {
    return {
      id: row.id,
      userId: row.user_id,
      csrfToken: row.csrf_token,
      createdAt: row.created_at,
      lastSeenAt: row.last_seen_at,
      absoluteExpiresAt: row.absolute_expires_at,
      idleExpiresAt: new Date(row.last_seen_at.getTime() + this.config.console.idleSeconds * 1000),
    };
  }
}
