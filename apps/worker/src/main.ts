import 'reflect-metadata';
import { loadConfig } from '@app/config';
import { redactDatabaseUrl, resolveDatabase } from '@app/db';
import { createLogger } from '@app/logging';
import { createWorkerApplication } from './bootstrap';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger('worker', config.log.level);
  const db = await resolveDatabase(config, (m) => log.debug({ pg: m }, 'embedded postgres'));
  log.info({ database: redactDatabaseUrl(db.url), embedded: db.embedded }, 'database resolved');
  const app = await createWorkerApplication({ ...config, database: { ...config.database, url: db.url } });
  log.info({ jobsEnabled: config.worker.jobsEnabled, backfillDays: config.worker.backfillDays }, 'worker started');
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: stopping schedules, waiting for running jobs');
    await app.close();
    await db.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  // A job never brings the process down; anything escaping is logged, not fatal.
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection'));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
