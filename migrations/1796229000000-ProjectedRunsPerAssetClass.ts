import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Projected runs are per asset class too (issue 15): each class's estimate lines against the
 * ledger's entries of that class, in the scope `projected/{asset class}`. Projected runs and breaks
 * held before are Crypto's (as AssetClassRuns made cycle runs): `projected` becomes
 * `projected/Crypto`; the next Crypto projected run keeps the breaks it finds again and closes the others.
 */
export class ProjectedRunsPerAssetClass1796229000000 implements MigrationInterface {
  name = 'ProjectedRunsPerAssetClass1796229000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`UPDATE "recon_run" SET asset_class = 'Crypto', scope_key = 'projected/Crypto' WHERE scope = 'projected'`);
    await queryRunner.query(
      `UPDATE "recon_break" SET asset_class = 'Crypto', scope_key = 'projected/Crypto' WHERE scope_key = 'projected'`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM "recon_break" WHERE scope_key LIKE 'projected/%' AND scope_key <> 'projected/Crypto'`);
    await queryRunner.query(`UPDATE "recon_break" SET asset_class = NULL, scope_key = 'projected' WHERE scope_key = 'projected/Crypto'`);
    await queryRunner.query(`UPDATE "recon_run" SET asset_class = NULL, scope_key = 'projected' WHERE scope = 'projected'`);
  }
}
