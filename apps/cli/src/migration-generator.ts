import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDataSource, ensureDatabase, runMigrationsLocked, schemaDrift, dedicatedPgClient } from '@app/db';
import { systemClock } from '@app/clock';

function escapeTemplate(sql: string): string {
  return sql.replace(/\\/g, '\\\\').replace(/`/g, '\\`').replace(/\$\{/g, '\\${');
}

/**
 * Writes `migrations/<timestamp>-<Name>.ts` with the SQL that brings a database migrated to the
 * current head up to the entities' shape, and registers it in migrations/index.ts.
 * Works on a scratch database created (and dropped) on the server of `serverUrl`.
 */
export async function generateMigration(serverUrl: string, name: string, migrationsDir: string): Promise<string | null> {
  if (!/^[A-Z][A-Za-z0-9]+$/.test(name)) throw new Error('migration name must be PascalCase letters and digits');
  const scratch = `klear_migration_scratch_${randomBytes(4).toString('hex')}`;
  const admin = new URL(serverUrl);
  admin.pathname = '/postgres';
  await ensureDatabase(admin.toString(), scratch);
  const url = new URL(serverUrl);
  url.pathname = `/${scratch}`;
  const ds = createDataSource({ url: url.toString(), poolSize: 2 });
  try {
    await ds.initialize();
    await runMigrationsLocked(ds);
    const drift = await schemaDrift(ds);
    if (drift.up.length === 0) return null;
    const timestamp = systemClock.nowMs();
    const className = `${name}${timestamp}`;
    const file = `${timestamp}-${name}`;
    const up = drift.up.map((q) => `    await queryRunner.query(\`${escapeTemplate(q)}\`);`).join('\n');
    const down = [...drift.down]
      .reverse()
      .map((q) => `    await queryRunner.query(\`${escapeTemplate(q)}\`);`)
      .join('\n');
    writeFileSync(
      join(migrationsDir, `${file}.ts`),
      `import type { MigrationInterface, QueryRunner } from 'typeorm';\n\nexport class ${className} implements MigrationInterface {\n  name = '${className}';\n\n  public async up(queryRunner: QueryRunner): Promise<void> {\n${up}\n  }\n\n  public async down(queryRunner: QueryRunner): Promise<void> {\n${down}\n  }\n}\n`,
    );
    const indexFile = join(migrationsDir, 'index.ts');
    let index = readFileSync(indexFile, 'utf8');
    const importLine = `import { ${className} } from './${file}';\n`;
    const lastImport = index.lastIndexOf('\nimport ');
    index =
      lastImport === -1 && !index.startsWith('import ')
        ? importLine + '\n' + index
        : (() => {
            const at = index.indexOf('\n', lastImport === -1 ? 0 : lastImport + 1) + 1;
            return index.slice(0, at) + importLine + index.slice(at);
          })();
    index = index.replace(/export const ALL_MIGRATIONS: Function\[\] = \[([^\]]*)\];/, (_m, list: string) => {
      const items = list
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      items.push(className);
      return `export const ALL_MIGRATIONS: Function[] = [\n${items.map((i) => `  ${i},`).join('\n')}\n];`;
    });
    writeFileSync(indexFile, index);
    return file;
  } finally {
    if (ds.isInitialized) await ds.destroy();
    const c = dedicatedPgClient({ connectionString: admin.toString() }, 'migration generator admin');
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`);
    await c.end();
  }
}
