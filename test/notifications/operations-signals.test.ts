import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '@app/clock';
import { ensureCyclePartitions } from '@app/db';
import { MetricsService, startMetricsServer } from '@app/metrics';
import { NotificationSender, OperationsWatch } from '@app/notifications';
import { type Mailbox, startMailbox } from '@apps/demo';
import { startWithdrawalWorld, type WithdrawalWorld } from '../withdrawals/withdrawal-world';

const TOKEN = 'metrics-token-0123456789';

/** A metric's value in Prometheus text (the line `name{labels} value`), or undefined. */
function metric(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

describe('operations signals: /metrics, readiness, stale jobs, expiring withdrawals, audit chain', () => {
  let world: WithdrawalWorld;
  let mailbox: Mailbox;
  let metrics: { url: string; close(): Promise<void> };
  // The product's clock: it moves only when the test says (the start instant is arbitrary).
  const clock = new ManualClock(Date.now());
  const scrape = async (token = TOKEN) => fetch(metrics.url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const send = () => world.app.get(NotificationSender, { strict: false }).runOnce();
  const watch = () => world.app.get(OperationsWatch, { strict: false });

  beforeAll(async () => {
    mailbox = await startMailbox();
    world = await startWithdrawalWorld({
      env: { NOTIFY_SMTP_URL: mailbox.smtpUrl, JOB_SETTLEMENT_BALANCE_STALE_SECONDS: '600' },
      app: { clock },
    });
    metrics = await startMetricsServer(world.app.get(MetricsService, { strict: false }), { host: '127.0.0.1', port: 0, token: TOKEN });
    for (const [token, email] of [
      [world.api.tokens.operator, 'operator@ops.test'],
      [world.api.tokens.approver, 'approver1@ops.test'],
      [world.api.tokens.admin, 'admin@ops.test'],
    ] as const) {
      expect(
        (await world.api.http().put('/notifications/preferences/me').set('Authorization', `Bearer ${token}`).send({ email })).status,
      ).toBe(200);
    }
  });

  afterAll(async () => {
    await metrics?.close();
    await world?.close();
    await mailbox?.close();
  });

  it('/metrics is served on its own port, only with the token, and shows the pending withdrawal, job ages and Klear requests', async () => {
    expect((await scrape('')).status).toBe(401);
    expect((await scrape('wrong-token-0123456789')).status).toBe(401);
    const res = await world.request('250000.00');
    expect(res.status).toBe(201);
    const ds = world.api.db.dataSource;
    await ds.query(
      `INSERT INTO job_run (job, trigger, status, started_at, finished_at, worker_instance) VALUES ('settlement_balance', 'schedule', 'succeeded', $1, $2, 'test')`,
      [new Date(clock.nowMs() - 1000), clock.now()],
    );
    // Readiness: the request pulled the balance, the active obligation and the estimate from Klear just now.
    const details = async () =>
      (await world.api.http().get('/health/details').set('Authorization', `Bearer ${world.api.tokens.viewer}`)).body;
    const ready = async () => {
      const bare = await world.api.http().get('/health/ready');
      return [bare.status, bare.body];
    };
    const fresh = await details();
    expect([fresh.status, fresh.stale]).toEqual(['ok', []]);
    expect(fresh.pulls.balance).toMatchObject({ status: 'fresh', max_age_seconds: 900 });
    expect(await ready()).toEqual([200, { status: 'ready' }]);
    clock.advance(1_200_000);
    // 20 minutes later every key pull is older than its 900 s: degraded (still 200), and details say which.
    const later = await details();
    expect([later.status, later.stale]).toEqual(['degraded', ['balance', 'active_obligations', 'estimate']]);
    expect(later.pulls.balance.age_seconds).toBe(Math.round((clock.nowMs() - Date.parse(later.pulls.balance.pulled_at)) / 1000));
    expect(later.pulls.balance.age_seconds).toBeGreaterThan(900);
    expect(await ready()).toEqual([200, { status: 'degraded' }]);
    const r = await scrape();
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/plain');
    const text = await r.text();
    expect(metric(text, 'klear_withdrawals', 'state="pending_approval"')).toBe(1);
    const [{ created_at: createdAt }] = await ds.query(`SELECT created_at FROM withdrawal_request WHERE id = $1`, [res.body.id]);
    expect(metric(text, 'klear_withdrawal_oldest_pending_approval_age_seconds')).toBeCloseTo(
      (clock.nowMs() - new Date(createdAt).getTime()) / 1000,
      3,
    );
    expect(metric(text, 'klear_job_last_success_age_seconds', 'job="settlement_balance"')).toBe(1200);
    expect(metric(text, 'klear_job_last_run_duration_seconds', 'job="settlement_balance",status="succeeded"')).toBe(1);
    expect(metric(text, 'klear_job_stale_after_seconds', 'job="settlement_balance"')).toBe(600);
    expect(metric(text, 'klear_notification_outbox_backlog', 'stage="outbox"')).toBe(1);
    expect(metric(text, 'klear_audit_chain_ok')).toBe(-1);
    expect(metric(text, 'klear_db_pool_connections', 'state="max"')).toBe(10);
    // The request refreshed the balance from Klear (the simulator): counted by endpoint and status, with latency.
    expect(metric(text, 'klear_api_requests_total', 'endpoint="GET /margin/settlement_balance",status="200"')).toBeGreaterThanOrEqual(1);
    expect(metric(text, 'klear_api_request_duration_seconds_count', 'endpoint="GET /margin/settlement_balance"')).toBeGreaterThanOrEqual(1);
    expect(text).toContain('# TYPE klear_api_rate_limited_total counter');
    expect(Math.abs(metric(text, 'klear_key_pull_age_seconds', 'pull="balance"')! - later.pulls.balance.age_seconds)).toBeLessThanOrEqual(
      0.5,
    );
    expect(Math.abs(metric(text, 'klear_key_pull_age_seconds', 'pull="estimate"')! - later.pulls.estimate.age_seconds)).toBeLessThanOrEqual(
      0.5,
    );
  });

  it('a job whose last success is older than its staleness is announced once to operators and admins', async () => {
    expect(await watch().staleJobs()).toContain('settlement_balance');
    expect(await watch().staleJobs()).toContain('settlement_balance'); // still stale, not announced again
    const before = mailbox.messages.length;
    await send();
    const stale = mailbox.messages.slice(before).filter((m) => m.subject.includes('Job has not succeeded recently'));
    expect(stale.map((m) => m.to[0]).sort()).toEqual(['admin@ops.test', 'operator@ops.test']);
    expect(stale[0].subject).toBe(
      '[Klear SCM] Job has not succeeded recently: settlement_balance last succeeded 0.3 h ago (stale after 0.2 h)',
    );
    expect(stale[0].text).toContain('/jobs/settlement_balance');
  });

  it('a withdrawal about to expire is announced once to its approvers and its requester', async () => {
    const res = await world.request('5000.00');
    const id = res.body.id as string;
    const expiresAt = new Date((await world.get(id)).expires_at).getTime();
    expect(await watch().expiringWithdrawals()).toBe(0);
    clock.set(expiresAt - 30 * 60_000);
    expect(await watch().expiringWithdrawals()).toBeGreaterThanOrEqual(1);
    expect(await watch().expiringWithdrawals()).toBe(0);
    const before = mailbox.messages.length;
    await send();
    const mails = mailbox.messages.slice(before).filter((m) => m.subject.includes('about to expire') && m.text.includes(id));
    expect(mails.map((m) => m.to[0]).sort()).toEqual(['approver1@ops.test', 'operator@ops.test']);
    expect(mails[0].text).toContain('expires in 30 min');
  });

  it('an audit chain that fails verification fails the check, is announced to admins once, and shows in /metrics', async () => {
    expect(await watch().auditChain()).toMatchObject({ ok: true });
    const ds = world.api.db.dataSource;
    await ds.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete');
    await ds.query(
      `UPDATE audit_log SET reason = 'rewritten' WHERE seq = (SELECT min(seq) FROM audit_log WHERE action = 'withdrawal.requested')`,
    );
    await ds.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete');
    await expect(watch().auditChain()).rejects.toThrow(/audit chain verification failed at row/);
    await expect(watch().auditChain()).rejects.toThrow(/audit chain verification failed/);
    const before = mailbox.messages.length;
    await send();
    const mails = mailbox.messages.slice(before).filter((m) => m.subject.includes('Audit chain FAILED'));
    expect(mails.map((m) => m.to[0])).toEqual(['admin@ops.test']);
    // The job records the failure; /metrics reads it.
    await ds.query(
      `INSERT INTO job_run (job, trigger, status, started_at, finished_at, worker_instance) VALUES ('audit_chain_check', 'schedule', 'failed', $1, $1, 'test')`,
      [clock.now()],
    );
    expect(metric(await (await scrape()).text(), 'klear_audit_chain_ok')).toBe(0);
  });

  it('a dual-control proposal is announced to the other admin, never to its proposer', async () => {
    const second = await world.api
      .http()
      .put('/notifications/preferences/me')
      .set('Authorization', `Bearer ${world.people.adminApprover}`)
      .send({ email: 'admin2@ops.test' });
    expect(second.status).toBe(200);
    const proposed = await world.api
      .http()
      .put('/withdrawal-policy')
      .set('Authorization', `Bearer ${world.api.tokens.admin}`)
      .send({
        tiers: [{ min_amount_centicents: '0', approvals_required: 2, roles_required: [] }],
        expiry_seconds: 7200,
        reserve_floor_centicents: '0',
        cap_centicents: '10000000000000',
      });
    expect(proposed.status).toBe(202);
    const before = mailbox.messages.length;
    await send();
    const waiting = mailbox.messages.slice(before).filter((m) => m.subject.includes('Proposal waiting for a second admin'));
    expect(waiting.map((m) => m.to[0])).toEqual(['admin2@ops.test']);
    expect(waiting[0].text).toContain(`/admin/proposals/${proposed.body.id}`);
    await send(); // delivered once
    expect(mailbox.messages.slice(before).filter((m) => m.subject.includes('Proposal waiting')).length).toBe(1);
  });

  it('/health/details names rows that fell into a default partition (reported, not required), and is up again once their month is made', async () => {
    const details = async () =>
      (await world.api.http().get('/health/details').set('Authorization', `Bearer ${world.api.tokens.viewer}`)).body;
    const ds = world.api.db.dataSource;
    expect((await details()).checks.partitions).toEqual({ status: 'up' });
    // A month nothing has made yet: the answer lands in the archive's default partition.
    await ds.query(
      `INSERT INTO klear_response_archive (endpoint, params, received_at, http_status, sha256, body) VALUES ('GET /test', '{}', '2041-05-02T00:00:00Z', 200, 'x', '\\x00')`,
    );
    const strayed = await details();
    expect(strayed.checks.partitions.status).toBe('down');
    expect(strayed.checks.partitions.detail).toContain(
      'klear_response_archive: 1 row(s), 2041-05-02T00:00:00.000Z to 2041-05-02T00:00:00.000Z',
    );
    expect(strayed.status).not.toBe('unavailable');
    await ensureCyclePartitions(ds, ['2041-05-01T00:00:00Z']);
    expect((await details()).checks.partitions).toEqual({ status: 'up' });
    const [{ part }] = await ds.query(`SELECT tableoid::regclass::text AS part FROM klear_response_archive WHERE endpoint = 'GET /test'`);
    expect(part).toBe('klear_response_archive_p204105');
  });
});
