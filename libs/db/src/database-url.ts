import type { AppConfig } from '@app/config';
import { startEmbeddedPostgres } from './embedded-postgres';

export interface ResolvedDatabase {
  url: string;
  embedded: boolean;
  dataDir?: string;
  stop(): Promise<void>;
}

/** DATABASE_URL when set; otherwise the project's embedded PostgreSQL (started or joined). */
export async function resolveDatabase(config: AppConfig, onLog?: (m: string) => void): Promise<ResolvedDatabase> {
  if (config.database.url) return { url: config.database.url, embedded: false, stop: async () => undefined };
  const handle = await startEmbeddedPostgres({
    dataDir: config.database.embedded.dataDir,
    port: config.database.embedded.port,
    onLog,
  });
  return { url: handle.url, embedded: true, dataDir: config.database.embedded.dataDir, stop: handle.stop };
}

/** Replaces the password of a connection URL for display. */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable database url)';
  }
}
