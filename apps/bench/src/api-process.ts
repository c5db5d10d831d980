import { benchSecretsEnv } from './bench-key';
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { freeLoopbackPort } from '@app/db';

/**
 * The clearing-ops API as it is deployed: its own Node process (`dist/apps/api/src/main.js`, built by
 * `npm run bench`, `npm ci` and the test suite's global setup; paths are from the repository root, the
 * working directory of every npm script). A bench that measures the API runs it so: in the bench's
 * process it would share an event loop and a heap with the simulator and the world generator (2.5 GB at
 * day 30 of the growth world), whose collections are not the API's cost.
 */
export interface ApiProcess {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  pid: number;
  /** A service account with these roles and its API token (the CLI's `users:create`, as an operator would). */
  serviceToken(name: string, roles: string[]): Promise<string>;
  /** Peak and current resident memory of the API process (MB, from /proc). */
  rssMb(): { peak: number; now: number };
  /** SIGTERM, and the process has exited. */
  stop(): Promise<void>;
}

const API_MAIN = 'dist/apps/api/src/main.js';
const CLI_MAIN = 'dist/apps/cli/src/main.js';

export async function startApiProcess(options: {
  databaseUrl: string;
  /** More of the API's environment (limits, directories); NODE_ENV test and LOG_LEVEL silent unless given. */
  env?: Record<string, string>;
  /** Node options of the API process (e.g. a heap limit). */
  nodeOptions?: string[];
  readyWithinMs?: number;
}): Promise<ApiProcess> {
  const port = await freeLoopbackPort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    // The API never calls Klear on a read: a closed port, so an unexpected call fails loudly.
    KLEAR_BASE_URL: 'http://127.0.0.1:9/klear-api/v1',
    // Signed audit rows, as in production (bench-key.ts); the CLI below gets the same key.
    ...benchSecretsEnv(),
    ...options.env,
    DATABASE_URL: options.databaseUrl,
    API_PORT: String(port),
    API_HOST: '127.0.0.1',
  };
  const child = spawn(process.execPath, [...(options.nodeOptions ?? []), API_MAIN], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let running = true;
  void exited.then(() => (running = false));
  const origin = `http://127.0.0.1:${port}`;

  const stop = async () => {
    if (running) child.kill('SIGTERM');
    await exited;
  };
  try {
    const until = performance.now() + (options.readyWithinMs ?? 120_000);
    for (;;) {
      if (!running) throw new Error(`the API process exited before it was ready: ${stderr.trim() || '(no output)'}`);
      try {
        if ((await fetch(`${origin}/health/ready`)).ok) break;
      } catch {
        // not listening yet
      }
      if (performance.now() > until) throw new Error(`the API process did not answer ${origin}/health/ready: ${stderr.trim()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    origin,
    pid: child.pid!,
    serviceToken: (name, roles) =>
      new Promise((resolve, reject) =>
        execFile(process.execPath, [CLI_MAIN, 'users:create', '--name', name, '--roles', roles.join(',')], { env }, (error, stdout, err) =>
          error ? reject(new Error(`users:create failed: ${err || error.message}`)) : resolve(stdout.trim().split('\n').at(-1)!),
        ),
      ),
    rssMb: () => processRssMb(child.pid!),
    stop,
  };
}

/** A process's peak (VmHWM) and current (VmRSS) resident memory, MB. */
export function processRssMb(pid: number): { peak: number; now: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { peak: Math.round(kb('VmHWM') / 1024), now: Math.round(kb('VmRSS') / 1024) };
}
