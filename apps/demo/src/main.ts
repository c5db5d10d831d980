import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { ConsoleAuthService, UsersService } from '@app/auth';
import { type AppConfig, loadConfig } from '@app/config';
import { redactDatabaseUrl, resolveDatabase } from '@app/db';
import { ExportFileRepository } from '@app/exports';
import { START_NOW, startKlearSimulator } from '@apps/klear-sim';
import { createApiApplication } from '@apps/api';
import { startWorkerProcess } from './worker-process';
import { startMailbox } from './mailbox';
import { NotificationPreferencesService, NotificationSender } from '@app/notifications';
import { ApiCaller } from './api-caller';
import { ensureDemoUsers, setDemoAddresses } from './demo-users';
import { runDemoStory } from './story';
import { demoCliCommand, printSummary } from './summary';

/**
 * `npm run demo`: the whole product on embedded defaults, in one process: PostgreSQL (kept in
 * .data/pg), the Klear simulator, the API and the worker. Ctrl-C stops everything cleanly.
 */
async function main(): Promise<void> {
  const env: Record<string, string | undefined> = { LOG_LEVEL: 'warn', ...process.env };
  const base = loadConfig(env);
  const dataRoot = resolve(base.database.embedded.dataDir, '..');
  mkdirSync(dataRoot, { recursive: true });
  const step = (text: string) => process.stdout.write(`  - ${text}\n`);
  process.stdout.write('Klear SCM back office: demo\n');

  // A second demo must not touch the first one's data or ports: check both before starting anything.
  const simPort = Number(env.KLEAR_SIM_PORT ?? 4010);
  // The mailbox of the notifications (SMTP + its web page) and /metrics of the API and the worker.
  const mailPorts = { smtp: Number(env.DEMO_MAILBOX_SMTP_PORT ?? 1025), web: Number(env.DEMO_MAILBOX_WEB_PORT ?? 1080) };
  env.METRICS_PORT ??= '9464';
  env.METRICS_WORKER_PORT ??= '9465';
  const claim = claimDataDirectory(dataRoot);
  if (!claim.ok)
    return refuse(
      `another demo (pid ${claim.pid}) is running on the data directory ${dataRoot}: stop it first (Ctrl-C in its terminal), or give this one its own EMBEDDED_PG_DATA_DIR`,
    );
  const busy = await busyPorts([
    [base.api.port, base.api.host, 'API (API_PORT)'],
    [simPort, '127.0.0.1', 'Klear simulator (KLEAR_SIM_PORT)'],
    [mailPorts.smtp, '127.0.0.1', 'demo mailbox SMTP (DEMO_MAILBOX_SMTP_PORT)'],
    [mailPorts.web, '127.0.0.1', 'demo mailbox web page (DEMO_MAILBOX_WEB_PORT)'],
    [Number(env.METRICS_PORT), base.metrics.host, 'API metrics (METRICS_PORT)'],
    [Number(env.METRICS_WORKER_PORT), base.metrics.host, 'worker metrics (METRICS_WORKER_PORT)'],
  ]);
  if (busy.length) {
    claim.release();
    return refuse(
      `port${busy.length > 1 ? 's' : ''} in use: ${busy.join(', ')}; another demo or program is listening there: stop it or choose other ports`,
    );
  }

  const db = await resolveDatabase(base);
  step(`PostgreSQL: ${db.embedded ? `embedded, data in ${resolve(base.database.embedded.dataDir)}` : redactDatabaseUrl(db.url)}`);

  const secretsKey = env.SECRETS_KEY ?? demoSecretsKey(dataRoot);
  const klearCredentials = { adminUserId: 'demo-member-admin', accessToken: randomBytes(18).toString('base64url') };
  const sim = await startKlearSimulator({
    port: simPort,
    host: '127.0.0.1',
    seed: 7,
    // The live API's world: two asset classes (20 markets each), funding three times a cycle, every
    // third subtrader in a netted group of four; 52 x 20 = 1,040 settlement details per obligation,
    // so every obligation's inline lists are cut at 1,000 and completed from the paged endpoints.
    subtraders: 52,
    markets: 40,
    assetClasses: 'Crypto,Equity',
    fundingPerCycle: 3,
    marginGroups: true,
    days: 10,
    // Klear's world follows real time: today's active obligation, this week's reports.
    startAt: START_NOW,
    // The open cycle's obligation is active before it executes: there is always one to show (today's or the next cycle's).
    activeObligations: 'open_cycle',
    // Klear's memory (its withdrawals, deposits and the world's anchor) lives beside the product's
    // database: on the next run both still agree (ids known to the product are known to Klear).
    stateFile: resolve(dataRoot, 'klear-sim-state.json'),
    ...klearCredentials,
  });
  step(`Klear simulator: ${sim.url}`);

  // A local mailbox for the notifications; put into `env` so that the worker process uses it too.
  const mailbox = await startMailbox({ smtpPort: mailPorts.smtp, webPort: mailPorts.web });
  step(`mailbox: ${mailbox.webUrl} (SMTP ${mailbox.smtpUrl})`);
  env.NOTIFY_SMTP_URL ??= mailbox.smtpUrl;
  env.NOTIFY_CONSOLE_URL ??= `http://localhost:${base.api.port}`;

  const config: AppConfig = loadConfig({
    ...env,
    DATABASE_URL: db.url,
    SECRETS_KEY: secretsKey,
    KLEAR_BASE_URL: sim.url,
    KLEAR_ADMIN_USER_ID: klearCredentials.adminUserId,
    KLEAR_ACCESS_TOKEN: klearCredentials.accessToken,
  });
  // Ctrl-C is the demo's own (below): it stops the worker, the API, the simulator, the mailbox and PostgreSQL in turn.
  const api = await createApiApplication(config, { silent: config.log.level === 'silent', shutdownHooks: false });
  await api.listen(config.api.port, config.api.host);
  const apiUrl = (await api.getUrl()).replace('[::1]', 'localhost');
  step(`API: ${apiUrl} (migrations applied)`);

  const users = await ensureDemoUsers(api.get(UsersService), api.get(ConsoleAuthService), new ApiCaller(apiUrl), dataRoot);
  step(`demo users: ${users.map((u) => u.name).join(', ')}`);
  const tokenOf = (name: string) => users.find((u) => u.name === name)!.token;

  await setDemoAddresses(api.get(NotificationPreferencesService), users);

  const story = await runDemoStory(
    new ApiCaller(apiUrl),
    sim,
    { operator: tokenOf('demo-operator'), viewer: tokenOf('demo-viewer') },
    api.get(ExportFileRepository),
    step,
    randomBytes(6).toString('hex'),
  );

  const workerLog = resolve(dataRoot, 'worker.log');
  const worker = await startWorkerProcess(config, env, workerLog);
  step(`worker: scheduled jobs running (pid ${worker.pid}, log ${workerLog})`);

  // The API process delivers the outbox once now (the worker's notification_sender does it every 10 s).
  await api.get(NotificationSender).runOnce();
  const approvalMail = mailbox.messages
    .filter((m) => m.subject.includes('Approval needed') && m.text.includes(story.withdrawal.id))
    .flatMap((m) => m.to);
  step(
    `approval email for the withdrawal delivered to: ${approvalMail.sort().join(', ') || 'nobody'} (the requester, demo-operator, gets none)`,
  );

  if (story.workbook) story.workbook.path = resolve(config.exports.dir, story.workbook.path);
  printSummary({
    apiUrl,
    simUrl: sim.url,
    dataDir: resolve(base.database.embedded.dataDir),
    users,
    story,
    mailboxUrl: mailbox.webUrl,
    approvalMail,
    metricsUrls: [
      `http://${config.metrics.host}:${config.metrics.apiPort}/metrics`,
      `http://${config.metrics.host}:${config.metrics.workerPort}/metrics`,
    ],
    cli: demoCliCommand(env, resolve(dataRoot, 'demo-secrets.key')),
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping the worker, the API, the simulator and PostgreSQL...\n`);
    await worker.stop().catch(() => undefined);
    await api.close().catch(() => undefined);
    await sim.close().catch(() => undefined);
    await mailbox.close().catch(() => undefined);
    await db.stop().catch(() => undefined);
    claim.release();
    process.stdout.write('stopped cleanly.\n');
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

function refuse(message: string): void {
  process.stderr.write(`demo not started: ${message}\n`);
  process.exitCode = 2;
}

/**
 * The data directory belongs to one running demo: `demo.pid` is created exclusively and holds its pid.
 * A file left by a demo that died (its pid is gone) is taken over.
 */
function claimDataDirectory(dataRoot: string): { ok: true; release(): void } | { ok: false; pid: number } {
  const file = resolve(dataRoot, 'demo.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return { ok: true, release: () => rmSync(file, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) return { ok: false, pid };
      rmSync(file, { force: true });
    }
  }
  throw new Error(`could not claim ${file}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The ports among these that something already listens on (checked by binding them for a moment). */
async function busyPorts(ports: Array<[number, string, string]>): Promise<string[]> {
  const busy: string[] = [];
  for (const [port, host, what] of ports) {
    if (port === 0) continue;
    const free = await new Promise<boolean>((done) => {
      const probe = createServer();
      probe.once('error', () => done(false));
      probe.listen(port, host, () => probe.close(() => done(true)));
    });
    if (!free) busy.push(`${port} (${what})`);
  }
  return busy;
}

/** A per-installation AES key for the demo, kept beside the data (0600), so stored secrets survive restarts. */
function demoSecretsKey(dataRoot: string): string {
  const file = resolve(dataRoot, 'demo-secrets.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = randomBytes(32).toString('hex');
  writeFileSync(file, key, { mode: 0o600 });
  return key;
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
