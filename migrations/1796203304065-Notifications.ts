import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Operations notifications (issue #19): the outbox (written in the transaction of the event it
 * announces), one delivery per (event, channel, recipient) (unique: once per recipient), every
 * attempt to deliver, and each person's preferences (address, which events on which channel).
 */
export class Notifications1796203304065 implements MigrationInterface {
  name = 'Notifications1796203304065';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "notification_outbox" (
        "id" bigserial PRIMARY KEY,
        "kind" text NOT NULL,
        "subject_type" text NOT NULL,
        "subject_id" text NOT NULL,
        "dedupe_key" text,
        "payload" jsonb NOT NULL,
        "audience" jsonb NOT NULL,
        "created_at" timestamptz NOT NULL,
        "fanned_out_at" timestamptz,
        CONSTRAINT "notification_outbox_dedupe" UNIQUE ("dedupe_key")
      )`);
    await queryRunner.query(`CREATE INDEX "notification_outbox_unfanned" ON "notification_outbox" ("id") WHERE "fanned_out_at" IS NULL`);
    await queryRunner.query(`
      CREATE TABLE "notification_delivery" (
        "id" bigserial PRIMARY KEY,
        "outbox_id" bigint NOT NULL REFERENCES "notification_outbox" ("id"),
        "channel" text NOT NULL CHECK ("channel" IN ('email', 'slack')),
        "recipient" text NOT NULL,
        "user_id" uuid REFERENCES "app_user" ("id"),
        "address" text,
        "status" text NOT NULL DEFAULT 'pending' CHECK ("status" IN ('pending', 'sending', 'delivered', 'failed')),
        "attempts" integer NOT NULL DEFAULT 0,
        "next_attempt_at" timestamptz NOT NULL,
        "created_at" timestamptz NOT NULL,
        "delivered_at" timestamptz,
        "last_error" text,
        CONSTRAINT "notification_delivery_once" UNIQUE ("outbox_id", "channel", "recipient")
      )`);
    await queryRunner.query(
      `CREATE INDEX "notification_delivery_due" ON "notification_delivery" ("next_attempt_at", "id") WHERE "status" IN ('pending', 'sending')`,
    );
    await queryRunner.query(`
      CREATE TABLE "notification_attempt" (
        "id" bigserial PRIMARY KEY,
        "delivery_id" bigint NOT NULL REFERENCES "notification_delivery" ("id"),
        "attempt" integer NOT NULL,
        "started_at" timestamptz NOT NULL,
        "finished_at" timestamptz,
        "outcome" text NOT NULL CHECK ("outcome" IN ('started', 'delivered', 'retry', 'failed', 'interrupted')),
        "detail" text,
        CONSTRAINT "notification_attempt_once" UNIQUE ("delivery_id", "attempt")
      )`);
    await queryRunner.query(`
      CREATE TABLE "notification_preference" (
        "user_id" uuid PRIMARY KEY REFERENCES "app_user" ("id"),
        "email" text,
        "events" jsonb NOT NULL,
        "updated_at" timestamptz NOT NULL,
        "updated_by" text NOT NULL
      )`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "notification_preference"`);
    await queryRunner.query(`DROP TABLE "notification_attempt"`);
    await queryRunner.query(`DROP TABLE "notification_delivery"`);
    await queryRunner.query(`DROP TABLE "notification_outbox"`);
  }
}
