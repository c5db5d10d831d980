import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { enqueueNotification } from '@app/notifications';
import { type Mailbox, startMailbox } from '@apps/demo';
import { type ApiWorld, startApiWorld } from '../support/api-world';
import { buildPrivateExecutorDrill } from '../withdrawals/executor-drill-process';
import { clockEnvironment } from '../support/child-env';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** One sender run in its own process, killed with SIGKILL by itself at `crashAt` (<step>:<n>). */
function runSender(
  script: string,
  env: Record<string, string>,
  crashAt?: string,
): Promise<{ signal: NodeJS.Signals | null; code: number | null; lines: string[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], {
      cwd: ROOT,
      env: {
        ...clockEnvironment(),
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        ...env,
        ...(crashAt ? { NOTIFY_DRILL_CRASH_AT: crashAt } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, lines: out.split('\n').filter(Boolean), stderr }));
  });
}

/**
 * "Each notification is delivered once per recipient even across restarts": a real sender process
 * is killed mid-batch at each step of a delivery, restarted, and the messages that reached the SMTP
 * server are counted per recipient.
 */
describe('notification sender killed mid-batch', () => {
  let api: ApiWorld;
  let mailbox: Mailbox;
  let drill: { script: string; remove: () => void };
  let env: Record<string, string>;

  beforeAll(async () => {
    const build = buildPrivateExecutorDrill('test/chaos/.drill-dist');
    drill = { script: build.script.replace('executor-drill.main.js', 'sender-drill.main.js'), remove: build.remove };
    mailbox = await startMailbox();
    api = await startApiWorld();
    env = { DATABASE_URL: api.db.url, NOTIFY_SMTP_URL: mailbox.smtpUrl };
    for (const [token, email] of [
      [api.tokens.approver, 'a1@ops.test'],
      [api.tokens.approver2, 'a2@ops.test'],
      [api.tokens.admin, 'admin@ops.test'],
    ] as const) {
      expect((await api.http().put('/notifications/preferences/me').set('Authorization', `Bearer ${token}`).send({ email })).status).toBe(
        200,
      );
    }
    // Four events, each for approvers and admins: 3 recipients x 4 = 12 deliveries.
    await api.db.dataSource.transaction(async (m) => {
      for (let i = 1; i <= 4; i++) {
        await enqueueNotification(m, new Date('2026-03-02T10:00:00Z'), {
          kind: 'job.stale',
          subjectType: 'job',
          subjectId: `job_${i}`,
          dedupeKey: `drill:${i}`,
          payload: { summary: `job_${i} has not succeeded for 2 h`, facts: [['Job', `job_${i}`]], link: `/jobs/job_${i}` },
          audience: { roles: ['approver', 'admin'] },
        });
      }
    });
  }, 180_000);

  afterAll(async () => {
    await api?.close();
    await mailbox?.close();
    drill?.remove();
  });

  it('killed after the 3rd recorded delivery, after a claim, and after the SMTP server accepted: every recipient has each notification once (the last window re-sends with the same Message-ID)', async () => {
    const first = await runSender(drill.script, env, 'recorded:3');
    expect(first.signal).toBe('SIGKILL');
    expect(mailbox.messages).toHaveLength(3);

    const second = await runSender(drill.script, env, 'claimed:2');
    expect(second.signal).toBe('SIGKILL');
    expect(mailbox.messages).toHaveLength(4);
    const claimedKilled = second.lines
      .filter((l) => l.startsWith('REACHED claimed'))
      .at(-1)!
      .split(' ')[2];

    const third = await runSender(drill.script, env, 'sent:2');
    expect(third.signal).toBe('SIGKILL');
    const sentKilled = third.lines
      .filter((l) => l.startsWith('REACHED sent'))
      .at(-1)!
      .split(' ')[2];
    // The delivery cut off after its claim was sent first in this run, then one more; the second was accepted, not recorded.
    expect(third.lines.filter((l) => l.startsWith('REACHED claimed'))[0]).toBe(`REACHED claimed ${claimedKilled}`);
    expect(mailbox.messages).toHaveLength(6);

    const last = await runSender(drill.script, env);
    expect(last.code).toBe(0);
    const summary = JSON.parse(last.lines.find((l) => l.startsWith('SUMMARY '))!.slice(8));
    expect(summary).toMatchObject({ interrupted: 1, delivered: 7, retrying: 0, failed: 0 });

    const deliveries = (await api.db.dataSource.query(`SELECT id::text, status, address FROM notification_delivery ORDER BY id`)) as Array<{
      id: string;
      status: string;
      address: string;
    }>;
    expect(deliveries).toHaveLength(12);
    expect(deliveries.every((d) => d.status === 'delivered')).toBe(true);

    // Per recipient and notification: exactly one Message-ID; one message, except the one delivery
    // whose sender died between the server's 250 and the commit, which arrived twice with the same Message-ID.
    const byKey = new Map<string, Set<string>>();
    const copies = new Map<string, number>();
    for (const m of mailbox.messages) {
      const key = `${m.to[0]}|${m.headers['x-klear-notification-id']}`;
      byKey.set(key, (byKey.get(key) ?? new Set()).add(m.messageId));
      copies.set(m.messageId, (copies.get(m.messageId) ?? 0) + 1);
    }
    expect(byKey.size).toBe(12);
    expect([...byKey.values()].every((ids) => ids.size === 1)).toBe(true);
    for (const r of ['a1@ops.test', 'a2@ops.test', 'admin@ops.test'])
      expect(new Set(mailbox.for(r).map((m) => m.headers['x-klear-notification-id'])).size).toBe(4);
    expect([...copies.entries()].filter(([, n]) => n > 1)).toEqual([[`<notification-${sentKilled}@klear-scm.invalid>`, 2]]);
    expect(mailbox.messages).toHaveLength(13);

    // The attempt log says what happened to each of the two cut-off deliveries.
    const attempts = async (id: string) =>
      (
        (await api.db.dataSource.query(`SELECT outcome FROM notification_attempt WHERE delivery_id = $1 ORDER BY attempt`, [id])) as Array<{
          outcome: string;
        }>
      ).map((a) => a.outcome);
    expect(await attempts(claimedKilled)).toEqual(['interrupted', 'delivered']);
    expect(await attempts(sentKilled)).toEqual(['interrupted', 'delivered']);
    expect(mailbox.messages.filter((m) => m.headers['x-klear-notification-id'] === claimedKilled)).toHaveLength(1);
  }, 240_000);
});
