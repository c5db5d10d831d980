import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 18: the API keeps verified tokens in memory for a few seconds (API_TOKEN_CACHE_SECONDS). Every
 * change of a token or a user NOTIFYs `klear_auth_changed` on commit so that each API process empties
 * its cache at once: a revocation, a disabling or a role change is seen by the next request. The
 * payload (the table and the transaction id) is the same for every row of a transaction, so PostgreSQL
 * sends one notification per table and transaction however many rows it touched. Stamping `last_used_at` (once a minute per token) changes
 * nothing a cache holds and notifies nobody: the UPDATE trigger compares the rows without that column.
 * Nor does an INSERT (a new user or token changes no verified token's principal: the cache holds
 * only tokens already verified), so creating users and tokens does not empty every API's cache.
 */
export class AuthChangeNotify1796234000000 implements MigrationInterface {
  name = 'AuthChangeNotify1796234000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION "notify_auth_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('klear_auth_changed', TG_TABLE_NAME || ' in transaction ' || txid_current());
        RETURN NULL;
      END $$`);
    for (const table of ['api_token', 'app_user']) {
      await queryRunner.query(
        `CREATE TRIGGER "${table}_changed_delete" AFTER DELETE ON "${table}" FOR EACH ROW EXECUTE FUNCTION "notify_auth_changed"()`,
      );
      await queryRunner.query(
        `CREATE TRIGGER "${table}_changed_update" AFTER UPDATE ON "${table}" FOR EACH ROW
           WHEN ((to_jsonb(OLD) - 'last_used_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_used_at'))
           EXECUTE FUNCTION "notify_auth_changed"()`,
      );
      await queryRunner.query(
        `CREATE TRIGGER "${table}_changed_truncate" AFTER TRUNCATE ON "${table}" FOR EACH STATEMENT EXECUTE FUNCTION "notify_auth_changed"()`,
      );
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['api_token', 'app_user']) {
      for (const suffix of ['delete', 'update', 'truncate'])
        await queryRunner.query(`DROP TRIGGER "${table}_changed_${suffix}" ON "${table}"`);
    }
    await queryRunner.query(`DROP FUNCTION "notify_auth_changed"()`);
  }
}
