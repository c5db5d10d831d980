import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The ops console's sign-in (issue #16): people's console credentials (argon2id password hash, TOTP
 * secret, failed sign-ins and lockout), server-side sessions (only the SHA-256 of the cookie value is
 * kept), WebAuthn passkeys, single-use challenges, and the second factor given for each withdrawal
 * decision (append-only: the evidence of who approved exactly what).
 */
export class ConsoleSignIn1796205560008 implements MigrationInterface {
  name = 'ConsoleSignIn1796205560008';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "console_credential" (
      "user_id" uuid PRIMARY KEY REFERENCES "app_user"("id") ON DELETE CASCADE,
      "password_hash" text NOT NULL,
      "totp_secret" text NOT NULL,
      "totp_enrolled_at" timestamptz,
      "last_totp_step" bigint,
      "failed_count" integer NOT NULL DEFAULT 0,
      "locked_until" timestamptz,
      "updated_at" timestamptz NOT NULL
    )`);
    await q.query(`CREATE TABLE "console_session" (
      "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      "token_hash" text NOT NULL UNIQUE,
      "user_id" uuid NOT NULL REFERENCES "app_user"("id") ON DELETE CASCADE,
      "csrf_token" text NOT NULL,
      "created_at" timestamptz NOT NULL,
      "last_seen_at" timestamptz NOT NULL,
      "absolute_expires_at" timestamptz NOT NULL,
      "revoked_at" timestamptz,
      "client" text
    )`);
    await q.query(`CREATE INDEX "console_session_user" ON "console_session" ("user_id")`);
    await q.query(`CREATE TABLE "webauthn_credential" (
      "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      "user_id" uuid NOT NULL REFERENCES "app_user"("id") ON DELETE CASCADE,
      "credential_id" text NOT NULL UNIQUE,
      "public_key" bytea NOT NULL,
      "counter" bigint NOT NULL DEFAULT 0,
      "transports" text[] NOT NULL DEFAULT '{}',
      "created_at" timestamptz NOT NULL
    )`);
    await q.query(`CREATE TABLE "console_challenge" (
      "nonce" text PRIMARY KEY,
      "user_id" uuid NOT NULL REFERENCES "app_user"("id") ON DELETE CASCADE,
      "purpose" text NOT NULL,
      "request_id" uuid,
      "request_version" integer,
      "challenge" text NOT NULL,
      "created_at" timestamptz NOT NULL,
      "expires_at" timestamptz NOT NULL,
      "used_at" timestamptz
    )`);
    await q.query(`CREATE TABLE "withdrawal_decision_step_up" (
      "id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      "request_id" uuid NOT NULL REFERENCES "withdrawal_request"("id"),
      "round" integer NOT NULL,
      "approver_id" uuid NOT NULL REFERENCES "app_user"("id"),
      "decision" text NOT NULL CHECK ("decision" IN ('approve', 'reject')),
      "method" text NOT NULL CHECK ("method" IN ('totp', 'passkey')),
      "request_version" integer NOT NULL,
      "amount_centicents" bigint NOT NULL,
      "purpose" text NOT NULL,
      "nonce" text,
      "challenge" text,
      "credential_id" text,
      "public_key" bytea,
      "totp_step" bigint,
      "assertion" jsonb,
      "created_at" timestamptz NOT NULL,
      UNIQUE ("request_id", "round", "approver_id", "decision")
    )`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "withdrawal_decision_step_up"`);
    await q.query(`DROP TABLE "console_challenge"`);
    await q.query(`DROP TABLE "webauthn_credential"`);
    await q.query(`DROP TABLE "console_session"`);
    await q.query(`DROP TABLE "console_credential"`);
  }
}
