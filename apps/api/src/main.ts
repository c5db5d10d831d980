import 'reflect-metadata';
import { loadConfig } from '@app/config';
import { redactDatabaseUrl, resolveDatabase } from '@app/db';
import { createLogger } from '@app/logging';
import { createApiApplication } from './bootstrap';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger('api', config.log.level);
  const db = await resolveDatabase(config, (m) => log.debug({ pg: m }, 'embedded postgres'));
  log.info({ database: redactDatabaseUrl(db.url), embedded: db.embedded }, 'database resolved');
  const app = await createApiApplication({ ...config, database: { ...config.database, url: db.url } });
  await app.listen(config.api.port, config.api.host);
  log.info(
    { address: await app.getUrl(), docs: config.api.docsEnabled ? `${await app.getUrl()}/docs` : 'off (API_DOCS_ENABLED)' },
    'clearing-ops API listening',
  );
  const shutdown = async (signal: string) => {
    log.info({ signal }, 'shutting down');
    await app.close();
    await db.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  // ConfigError messages name the variables; nothing secret is in them.
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
