import { type ChildProcess, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AppConfig } from '@app/config';

export interface WorkerProcess {
  pid: number | undefined;
  stop(): Promise<void>;
}

/**
 * The worker runs as its own process, as in production (`npm run start:worker`), configured through
 * the same environment variables; its JSON log lines go to `logFile`.
 */
export async function startWorkerProcess(
  config: AppConfig,
  env: Record<string, string | undefined>,
  logFile: string,
): Promise<WorkerProcess> {
  const log = openSync(logFile, 'a');
  const entry = fileURLToPath(new URL('../../worker/src/main.js', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, [entry], {
    env: {
      ...env,
      DATABASE_URL: config.database.url,
      SECRETS_KEY: config.secretsKey?.toString('hex'),
      KLEAR_BASE_URL: config.klear.baseUrl,
      KLEAR_ADMIN_USER_ID: config.klear.adminUserId,
      KLEAR_ACCESS_TOKEN: config.klear.accessToken,
      // The API already pulled everything once; the worker then follows the schedules.
      WORKER_INSTANCE_ID: 'demo-worker',
    },
    stdio: ['ignore', log, log],
  });
  await new Promise<void>((resolveStart, reject) => {
    child.once('spawn', () => resolveStart());
    child.once('error', reject);
  });
  return {
    pid: child.pid,
    stop: () =>
      new Promise<void>((resolveStop) => {
        if (child.exitCode !== null) return resolveStop();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolveStop();
        });
        child.kill('SIGTERM');
      }),
  };
}
