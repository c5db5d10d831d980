import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * TOTP secrets at rest are sealed like every stored secret (SecretBox, AES-256-GCM under SECRETS_KEY,
 * the row's user id as context): `totp_key_id` names the key an envelope was sealed with, NULL only
 * for a secret in clear (written without SECRETS_KEY, in development, or before this migration).
 * The key is not in the database, so the migration cannot seal: the application does at start
 * (ConsoleAuthService.sealStoredTotpSecrets) and `npm run cli -- secrets:rotate` re-seals with a new key.
 */
export class ConsoleTotpSealed1796215303535 implements MigrationInterface {
  name = 'ConsoleTotpSealed1796215303535';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "console_credential" ADD "totp_key_id" text`);
    // A key id only on an envelope of that key; an envelope never passes for a secret in clear.
    await q.query(
      `ALTER TABLE "console_credential" ADD CONSTRAINT "console_credential_totp_sealed" CHECK (CASE WHEN "totp_key_id" IS NULL THEN "totp_secret" NOT LIKE 'sb1.%' ELSE "totp_secret" LIKE 'sb1.' || "totp_key_id" || '.%' END)`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "console_credential" DROP CONSTRAINT "console_credential_totp_sealed"`);
    await q.query(`ALTER TABLE "console_credential" DROP COLUMN "totp_key_id"`);
  }
}
