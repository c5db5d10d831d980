import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseKlearJson } from '@app/klear-contract';
import type { ApiWorld } from '../support/api-world';
import { ADMIN_TOKEN_HEADER, type RunningKlearSimulator, startKlearSimulator } from '@apps/klear-sim';
import { apiOverSimulator, smallWorld } from './ingestion-world';

type Json = Record<string, unknown>;
type Truth = {
  obligations: Array<Json & { execution_time: string; asset_class: string; maintenance_margin_details: Json[]; funding_payments: Json[] }>;
};

/**
 * The ops routes over the live API's data: `GET /subtrader-groups` (members, membership history, the
 * group's requirement) and funding and group in `GET /subtraders/{id}`, against the simulator's truth.
 * World: 8 subtraders, two asset classes, funding three times a cycle, ST-00001/4/7 in GRP-0001.
 */
describe('Ops routes: subtrader groups and subtrader funding', () => {
  let sim: RunningKlearSimulator;
  let ctx: ApiWorld;
  let reportsDir: string;
  beforeAll(async () => {
    sim = await startKlearSimulator(
      smallWorld({ seed: 9, subtraders: 8, markets: 4, days: 3, fundingPerCycle: 3, marginGroups: true, assetClasses: 'Crypto,Equity' }),
    );
    reportsDir = mkdtempSync(join(tmpdir(), 'klear-ops-groups-'));
    ctx = await apiOverSimulator(sim, reportsDir);
    for (const job of ['obligation_history', 'subtrader_groups']) await runJob(job);
  });
  afterAll(async () => {
    await ctx?.close();
    await sim?.close();
    rmSync(reportsDir, { recursive: true, force: true });
  });

  const get = (path: string, token = ctx.tokens.viewer) => ctx.http().get(path).set('authorization', `Bearer ${token}`);
  async function runJob(name: string): Promise<void> {
    const answer = await ctx.http().post(`/jobs/${name}/run?wait=true`).set('authorization', `Bearer ${ctx.tokens.operator}`);
    expect({ name, run: answer.body.run?.status }).toEqual({ name, run: 'succeeded' });
  }
  async function truth(): Promise<Truth> {
    const answer = await fetch(`${sim.adminUrl}/truth`, { headers: { [ADMIN_TOKEN_HEADER]: sim.options.adminToken } });
    return parseKlearJson(await answer.text()) as Truth;
  }
  const latestCycle = (t: Truth) =>
    t.obligations
      .map((o) => o.execution_time)
      .sort()
      .at(-1)!;

  it('lists each netted group with its members, their history and its latest requirement over every asset class', async () => {
    const t = await truth();
    const cycle = latestCycle(t);
    const margin = t.obligations
      .filter((o) => o.execution_time === cycle)
      .flatMap((o) => o.maintenance_margin_details)
      .filter((m) => m.margin_group_id === 'GRP-0001')
      .reduce((s, m) => s + (m.maintenance_margin_centicents as bigint), 0n);
    expect(margin).toBeGreaterThan(0n);
    const answer = await get('/subtrader-groups');
    expect(answer.status).toBe(200);
    expect(answer.body.next_cursor).toBeNull();
    expect(answer.body.data).toHaveLength(1);
    const [group] = answer.body.data;
    expect(group).toMatchObject({
      group_id: 'GRP-0001',
      member_subtrader_ids: ['ST-00001', 'ST-00004', 'ST-00007'],
      latest_margin: { execution_time: new Date(cycle).toISOString(), maintenance_margin_centicents: margin.toString() },
    });
    expect(group.membership_history.map((h: Json) => [h.subtrader_id, h.valid_to])).toEqual([
      ['ST-00001', null],
      ['ST-00004', null],
      ['ST-00007', null],
    ]);
  });

  it('keeps a member that left in the history, closed at the pull that no longer listed it', async () => {
    const put = await fetch(`${sim.url}/fcm/margin/subtrader_groups/GRP-0001`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${sim.options.adminUserId}:${sim.options.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ subtrader_ids: ['ST-00001', 'ST-00004'] }),
    });
    expect(put.status).toBe(200);
    await runJob('subtrader_groups');
    const [group] = (await get('/subtrader-groups')).body.data;
    expect(group.member_subtrader_ids).toEqual(['ST-00001', 'ST-00004']);
    const left = group.membership_history.find((h: Json) => h.subtrader_id === 'ST-00007');
    expect(left.valid_to).not.toBeNull();
    expect(Date.parse(left.valid_to)).toBeGreaterThan(Date.parse(left.valid_from));
    expect((await get('/subtraders/ST-00007')).body.margin_group).toBeNull();
  });

  it('shows a subtrader its funding payments of the latest cycle over both asset classes, and its group', async () => {
    const t = await truth();
    const cycle = latestCycle(t);
    const payments = t.obligations
      .filter((o) => o.execution_time === cycle)
      .flatMap((o) => o.funding_payments)
      .filter((f) => f.subtrader_id === 'ST-00002');
    expect(payments.length).toBeGreaterThan(0);
    const answer = await get('/subtraders/ST-00002');
    expect(answer.status).toBe(200);
    expect(answer.body.latest_obligation).toMatchObject({
      execution_time: new Date(cycle).toISOString(),
      asset_classes: ['Crypto', 'Equity'],
      funding_centicents: payments.reduce((s, f) => s + (f.funding_amount_centicents as bigint), 0n).toString(),
      funding_payment_count: payments.length,
    });
    expect(answer.body.latest_obligation.obligation_ids).toHaveLength(2);
    expect(answer.body.margin_group).toBeNull();
    expect((await get('/subtraders/ST-00001')).body.margin_group).toMatchObject({ group_id: 'GRP-0001' });
  });

  it('refuses the groups to a caller without a credential and a malformed page request, changing nothing', async () => {
    expect((await ctx.http().get('/subtrader-groups')).status).toBe(401);
    const bad = await get('/subtrader-groups?limit=abc');
    expect(bad.status).toBe(400);
    expect((await get('/subtrader-groups?cursor=not-a-cursor')).status).toBe(400);
    expect((await get('/subtrader-groups')).body.data).toHaveLength(1);
  });
});
