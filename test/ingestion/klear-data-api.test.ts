import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ApiWorld } from '../support/api-world';
import { type RunningKlearSimulator, startKlearSimulator } from '@apps/klear-sim';
import { apiOverSimulator, INGESTION_JOB_NAMES, smallWorld } from './ingestion-world';

describe('Clearing-ops read routes over ingested Klear data', () => {
  let sim: RunningKlearSimulator;
  let ctx: ApiWorld;
  let reportsDir: string;
  beforeAll(async () => {
    sim = await startKlearSimulator(smallWorld({ seed: 5 }));
    reportsDir = mkdtempSync(join(tmpdir(), 'klear-api-reports-'));
    ctx = await apiOverSimulator(sim, reportsDir, { WORKER_BACKFILL_DAYS: '30' });
  });
  afterAll(async () => {
    await ctx?.close();
    await sim?.close();
    rmSync(reportsDir, { recursive: true, force: true });
  });

  const get = (path: string, token = ctx.tokens.viewer) => ctx.http().get(path).set('authorization', `Bearer ${token}`);

  it('runs every ingestion job on an operator request and refuses a viewer', async () => {
    expect((await ctx.http().post('/jobs/active_obligation/run').set('authorization', `Bearer ${ctx.tokens.viewer}`)).status).toBe(403);
    for (const name of INGESTION_JOB_NAMES) {
      const answer = await ctx.http().post(`/jobs/${name}/run?wait=true`).set('authorization', `Bearer ${ctx.tokens.operator}`);
      expect({ name, status: answer.status, outcome: answer.body.outcome, run: answer.body.run.status }).toEqual({
        name,
        status: 200,
        outcome: 'finished',
        run: 'succeeded',
      });
    }
    const jobs = await get('/jobs');
    expect(jobs.body.data.map((j: { name: string }) => j.name)).toEqual(expect.arrayContaining(INGESTION_JOB_NAMES));
    const history = jobs.body.data.find((j: { name: string }) => j.name === 'obligation_history');
    expect(history).toMatchObject({
      schedule: '*/15 * * * *',
      enabled: true,
      last_run: { status: 'succeeded', trigger: 'manual', requested_by: 'test-operator' },
    });
    expect(history.last_success.id).toBe(history.last_run.id);
    const runs = await get('/jobs/obligation_history/runs?limit=1');
    expect(runs.body.data).toHaveLength(1);
    expect(runs.body.data[0].items_read).toBe(5);
    expect((await get('/jobs/no_such_job/runs')).status).toBe(404);
  });

  it('lists obligations newest first with pull times, filters by settlement day and pages the details', async () => {
    const list = await get('/obligations?limit=2');
    expect(list.status).toBe(200);
    expect(list.body.data).toHaveLength(2);
    expect(list.body.data[0].execution_time > list.body.data[1].execution_time).toBe(true);
    expect(typeof list.body.data[0].amount_centicents).toBe('string');
    expect(list.body.data[0].pulled_at).toEqual(expect.any(String));
    const rest = await get(`/obligations?limit=10&cursor=${list.body.next_cursor}`);
    expect(rest.body.data).toHaveLength(3);
    const day = list.body.data[0].id.slice(4, 12).replace(/(\d{4})(\d{2})(\d{2})/, '$1-$2-$3');
    const oneDay = await get(`/obligations?from=${day}&to=${day}`);
    expect(oneDay.body.data.map((o: { id: string }) => o.id)).toEqual([list.body.data[0].id]);
    const one = await get(`/obligations/${list.body.data[0].id}`);
    expect(one.body.settlement_details).toHaveLength(20);
    const sum = one.body.settlement_details.reduce((s: bigint, d: { total_centicents: string }) => s + BigInt(d.total_centicents), 0n);
    const margin = one.body.maintenance_margin_details.reduce(
      (s: bigint, m: { maintenance_margin_delta_centicents: string }) => s + BigInt(m.maintenance_margin_delta_centicents),
      0n,
    );
    expect((sum - margin).toString()).toBe(one.body.amount_centicents);
    const sub = one.body.settlement_details[0].subtrader_id;
    const page = await get(`/obligations/${one.body.id}/details?subtrader=${sub}&limit=3`);
    expect(page.body.data).toHaveLength(3);
    expect(page.body.data.every((d: { subtrader_id: string }) => d.subtrader_id === sub)).toBe(true);
    const page2 = await get(`/obligations/${one.body.id}/details?subtrader=${sub}&limit=3&cursor=${page.body.next_cursor}`);
    expect(page2.body.data).toHaveLength(1);
    expect(page2.body.next_cursor).toBeNull();
    expect((await get('/obligations/obl-nope')).status).toBe(404);
    expect((await get('/obligations?from=2026-13-01')).status).toBe(400);
  });

  it('serves the active obligation, estimate, balance and buffer history as pulled', async () => {
    const active = await get('/obligations/active');
    expect(active.body.pulled_at).toEqual(expect.any(String));
    const estimate = await get('/settlement/estimate');
    expect(estimate.body.subtrader_breakdowns).toHaveLength(5);
    const subtotal = estimate.body.subtrader_breakdowns.reduce(
      (s: bigint, l: { total_amount_centicents: string }) => s + BigInt(l.total_amount_centicents),
      0n,
    );
    expect(subtotal.toString()).toBe(estimate.body.user_breakdown.total_amount_centicents);
    const balance = await get('/settlement/balance');
    expect(balance.body.available_centicents).toMatch(/^-?\d+$/);
    const history = await get('/settlement/balance/history?limit=500');
    const net = history.body.data.reduce(
      (s: bigint, e: { balance_delta_centicents: string }) => s + BigInt(e.balance_delta_centicents),
      0n,
    );
    expect(net.toString()).toBe(balance.body.available_centicents);
  });

  it('lists reports and streams a stored file byte for byte, refusing a corrupted one', async () => {
    const reports = await get('/reports?limit=500');
    expect(reports.body.data.length).toBeGreaterThanOrEqual(5);
    const report = reports.body.data[0];
    expect(report.file.sha256).toMatch(/^[0-9a-f]{64}$/);
    const file = await get(`/reports/${report.id}/file`)
      .buffer(true)
      .parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      });
    expect(file.status).toBe(200);
    expect(
      createHash('sha256')
        .update(file.body as Buffer)
        .digest('hex'),
    ).toBe(report.file.sha256);
    const [{ file_path }] = await ctx.db.dataSource.query(`SELECT file_path FROM klear_margin_report WHERE id = $1`, [report.id]);
    writeFileSync(join(reportsDir, file_path), 'tampered');
    expect((await get(`/reports/${report.id}/file`)).status).toBe(503);
    // The next run fetches it again.
    await ctx.http().post('/jobs/margin_reports/run?wait=true').set('authorization', `Bearer ${ctx.tokens.operator}`);
    expect((await get(`/reports/${report.id}/file`)).status).toBe(200);
  });

  it('lists the subtraders seen in Klear with their latest figures', async () => {
    const list = await get('/subtraders');
    expect(list.body.data).toHaveLength(5);
    const one = await get(`/subtraders/${list.body.data[0].subtrader_id}`);
    expect(one.body.seen_in_klear_at).toEqual(expect.any(String));
    expect(one.body.latest_obligation.total_centicents).toMatch(/^-?\d+$/);
    // The figures are the sums of the latest obligation's detail rows, to the centicent.
    const [sums] = await ctx.db.dataSource.query(
      `SELECT sum(pnl_centicents)::text AS pnl, sum(fees_centicents)::text AS fees, sum(total_centicents)::text AS total FROM klear_settlement_detail
        WHERE subtrader_id = $1 AND obligation_id = (SELECT id FROM klear_obligation ORDER BY execution_time DESC LIMIT 1)`,
      [one.body.subtrader_id],
    );
    expect(one.body.latest_obligation).toMatchObject({
      pnl_centicents: sums.pnl,
      fees_centicents: sums.fees,
      total_centicents: sums.total,
    });
    expect((await get('/subtraders/nobody')).status).toBe(404);
  });

  it("gives every row of every page the latest cycle's figures: each row is the subtrader's own answer", async () => {
    // The statement sends what every row shares (the latest obligations, their times, the estimate's
    // pull time) on a page's first row only; a page's later rows, and a later page whose first row is
    // not the registry's first, must still carry them.
    const rows: Array<{ subtrader_id: string; latest_obligation: unknown }> = [];
    let cursor: string | null = null;
    do {
      const page = await get(`/subtraders?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(page.status).toBe(200);
      rows.push(...page.body.data);
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(rows).toHaveLength(5);
    for (const row of rows) {
      expect(row.latest_obligation).toMatchObject({ execution_time: expect.any(String), obligation_ids: [expect.any(String)] });
      expect(row).toEqual((await get(`/subtraders/${row.subtrader_id}`)).body);
    }
  });
});
