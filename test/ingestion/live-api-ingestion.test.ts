import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { parseKlearJson } from '@app/klear-contract';
import { IngestionWorld } from './ingestion-world';

const PAGED = 'GET /margin/obligations/{obligation_id}/settlement_details';
const FUNDING_PAGED = 'GET /margin/obligations/{obligation_id}/funding_payments';

type Row = Record<string, unknown>;

/**
 * The live API's shapes end to end: two asset classes, inline lists cut at 1,000 rows (completed
 * from the paged endpoints before anything is stored), funding payments, netted groups with
 * membership history, settlement prices per cycle and member funding per funding time.
 */
describe('Ingestion of the live Klear API', () => {
  // Obligations of 1,200 details and 2,700 funding rows each, walked and completed several times:
  // a generous deadline on a loaded machine (not a speed target).
  jest.setTimeout(300_000);
  let world: IngestionWorld;
  // 60 subtraders x 20 markets per asset class = 1,200 settlement details per obligation (cut inline
  // at 1,000); funding three times a cycle; every third subtrader in a netted group of four.
  beforeAll(async () => {
    // No retries: one injected 500 fails a page read outright (the breaker needs five in a row).
    world = await IngestionWorld.start(
      { seed: 13, subtraders: 60, markets: 40, days: 3, fundingPerCycle: 3, marginGroups: true, assetClasses: 'Crypto,Equity' },
      // Pages of 20 obligations of 2,000 inline rows each are large: a generous read timeout.
      { KLEAR_MAX_RETRIES: '0', KLEAR_TIMEOUT_MS: '20000' },
    );
  });
  afterAll(() => world?.close());

  const count = async (sql: string, params: unknown[] = []) =>
    ((await world.db.dataSource.query(sql, params)) as Array<{ n: number }>)[0].n;

  it('stores every obligation of both asset classes whole: truncated lists completed from their pages, funding kept', async () => {
    const run = await world.runner.runToEnd('obligation_history', { trigger: 'startup' });
    expect(run?.status).toBe('succeeded');
    const truth = await world.truth();
    expect(truth.obligations).toHaveLength(6);
    const held = (await world.db.dataSource.query(
      `SELECT o.id, o.asset_class, o.completed_lists, o.settlement_detail_count, o.funding_centicents::text AS funding, o.funding_payment_count,
              (SELECT count(*)::int FROM klear_settlement_detail d WHERE d.obligation_id = o.id) AS details,
              (SELECT count(*)::int FROM klear_funding_payment f WHERE f.obligation_id = o.id) AS funding_rows,
              (SELECT count(*)::int FROM klear_margin_detail m WHERE m.obligation_id = o.id AND m.margin_group_id IS NOT NULL) AS group_rows
         FROM klear_obligation o ORDER BY o.id`,
    )) as Row[];
    expect(held.map((o) => o.asset_class).sort()).toEqual(['Crypto', 'Crypto', 'Crypto', 'Equity', 'Equity', 'Equity']);
    for (const o of held) {
      const t = truth.obligations.find((candidate) => candidate.id === o.id) as unknown as Row & {
        settlement_details: Row[];
        funding_payments: Row[];
      };
      expect(t).toBeDefined();
      expect({ id: o.id, details: o.details }).toEqual({ id: o.id, details: 1_200 });
      expect(o.settlement_detail_count).toBe(1_200);
      expect(o.completed_lists).toEqual(expect.arrayContaining(['settlement_details', 'funding_payments']));
      expect(o.funding_rows).toBe(t.funding_payments.length);
      expect(t.funding_payments.length).toBeGreaterThan(1_000);
      expect(BigInt(o.funding as string)).toBe(
        t.funding_payments.reduce((sum: bigint, f) => sum + (f.funding_amount_centicents as bigint), 0n),
      );
      // 20 grouped subtraders in 5 netted groups: one margin row per group.
      expect(o.group_rows).toBe(5);
    }
    // Every page read was archived with the run, as it came.
    expect(
      await count(`SELECT count(*)::int AS n FROM klear_response_archive WHERE endpoint = $1 AND job_run_id = $2`, [PAGED, run?.id]),
    ).toBe(6 * 2);
    expect(
      await count(`SELECT count(*)::int AS n FROM klear_response_archive WHERE endpoint = $1`, [FUNDING_PAGED]),
    ).toBeGreaterThanOrEqual(6 * 2);

    // One obligation completed and stored at a time (only its complete lists in memory): its details are
    // written (transaction ids, xmin) after its own pages were read and before the next one's first page.
    // `stored` stays bigint: ORDER BY an output column sorts by its type, and as text "10030" < "9850"
    // (the ids are the cluster's, so where they cross a power of ten depends on what else runs on it).
    const spans = (await world.db.dataSource.query(
      `SELECT o.id,
              (SELECT min(a.xmin::text::bigint) FROM klear_response_archive a WHERE a.job_run_id = $1 AND a.params->>'obligation_id' = o.id)::text AS first_page,
              (SELECT max(a.xmin::text::bigint) FROM klear_response_archive a WHERE a.job_run_id = $1 AND a.params->>'obligation_id' = o.id)::text AS last_page,
              (SELECT min(d.xmin::text::bigint) FROM klear_settlement_detail d WHERE d.obligation_id = o.id) AS stored
         FROM klear_obligation o ORDER BY stored`,
      [run?.id],
    )) as Array<{ id: string; first_page: string; last_page: string; stored: string }>;
    expect(spans).toHaveLength(6);
    spans.forEach((span, i) => {
      expect({ id: span.id, storedAfterItsPages: BigInt(span.stored) > BigInt(span.last_page) }).toEqual({
        id: span.id,
        storedAfterItsPages: true,
      });
      if (i > 0)
        expect({ id: span.id, pagedAfterThePreviousWasStored: BigInt(span.first_page) > BigInt(spans[i - 1].stored) }).toEqual({
          id: span.id,
          pagedAfterThePreviousWasStored: true,
        });
    });
  });

  it('does not page again for an obligation already held whole at the same version', async () => {
    const before = await count(`SELECT count(*)::int AS n FROM klear_response_archive WHERE endpoint = $1`, [PAGED]);
    expect((await world.runner.runToEnd('obligation_history', { trigger: 'manual' }))?.status).toBe('succeeded');
    expect(await count(`SELECT count(*)::int AS n FROM klear_response_archive WHERE endpoint = $1`, [PAGED])).toBe(before);
    expect(await count(`SELECT count(*)::int AS n FROM klear_obligation_version`)).toBe(6);
  });

  it('never stores an obligation from a cut list: a failing page fails the run, saying which obligation', async () => {
    await world.admin('POST', '/clock/settle-open-cycle');
    const [newest] = (await world.truth()).obligations;
    await world.admin('PUT', '/faults', {
      seed: 1,
      rules: [{ kind: 'status', status: 500, endpoint: `/margin/obligations/${newest.id}/settlement_details`, times: 1 }],
    });
    const failed = await world.runner.runToEnd('obligation_history', { trigger: 'manual' });
    expect(failed?.status).toBe('failed');
    expect(failed?.error).toContain(
      `obligation ${newest.id} not stored: its settlement_details (cut at 1,000 inline) could not be read in full`,
    );
    expect(await count(`SELECT count(*)::int AS n FROM klear_obligation WHERE id = $1`, [newest.id])).toBe(0);
    await world.admin('PUT', '/faults', { seed: 1, rules: [] });
    expect((await world.runner.runToEnd('obligation_history', { trigger: 'manual' }))?.status).toBe('succeeded');
    expect(await count(`SELECT count(*)::int AS n FROM klear_settlement_detail WHERE obligation_id = $1`, [newest.id])).toBe(1_200);
  });

  it('keeps both active obligations and every asset class estimate with its next runtime', async () => {
    expect((await world.runner.runToEnd('active_obligation', { trigger: 'manual' }))?.status).toBe('succeeded');
    const active = (await world.db.dataSource.query(
      `SELECT p.obligation_id, o.asset_class FROM klear_active_obligation_pull p JOIN klear_obligation o ON o.id = p.obligation_id
        WHERE p.archive_id = (SELECT archive_id FROM klear_active_obligation_pull ORDER BY pulled_at DESC, id DESC LIMIT 1) ORDER BY o.asset_class`,
    )) as Row[];
    expect(active.map((a) => a.asset_class)).toEqual(['Crypto', 'Equity']);
    expect((await world.runner.runToEnd('settlement_estimate', { trigger: 'manual' }))?.status).toBe('succeeded');
    const lines = (await world.db.dataSource.query(
      `SELECT asset_class, next_runtime FROM klear_estimate_line WHERE scope = 'user' ORDER BY asset_class`,
    )) as Array<{ asset_class: string; next_runtime: Date | null }>;
    expect(lines.map((l) => l.asset_class)).toEqual(['', 'Crypto', 'Equity']);
    expect(lines[1].next_runtime).toBeInstanceOf(Date);
    // The derived '' line adds both asset classes up.
    const [sums] = (await world.db.dataSource.query(
      `SELECT sum(total_amount_centicents) FILTER (WHERE asset_class <> '')::text AS classes, sum(total_amount_centicents) FILTER (WHERE asset_class = '')::text AS total
         FROM klear_estimate_line WHERE scope = 'user'`,
    )) as Array<{ classes: string; total: string }>;
    expect(sums.total).toBe(sums.classes);
  });

  it('stores settlement prices per cycle and asset class, and the member funding payments per funding time', async () => {
    expect((await world.runner.runToEnd('settlement_prices', { trigger: 'manual' }))?.status).toBe('succeeded');
    // 4 settled cycles x 2 asset classes x 20 markets.
    expect(await count(`SELECT count(*)::int AS n FROM klear_settlement_price`)).toBe(4 * 2 * 20);
    expect((await world.runner.runToEnd('member_funding', { trigger: 'manual' }))?.status).toBe('succeeded');
    const [check] = (await world.db.dataSource.query(
      `SELECT (SELECT count(DISTINCT funding_time)::int FROM klear_funding_payment) AS times,
              (SELECT count(DISTINCT funding_time)::int FROM klear_member_funding_payment) AS member_times,
              (SELECT sum(funding_amount_centicents)::text FROM klear_funding_payment) AS obligation_total,
              (SELECT sum(funding_amount_centicents)::text FROM klear_member_funding_payment) AS member_total`,
    )) as Row[];
    expect(check.times).toBe(12);
    expect(check.member_times).toBe(12);
    expect(check.member_total).toBe(check.obligation_total);
  });

  it('keeps subtrader group membership with its history: joins and leaves are dated', async () => {
    expect((await world.runner.runToEnd('subtrader_groups', { trigger: 'manual' }))?.status).toBe('succeeded');
    expect(await count(`SELECT count(*)::int AS n FROM klear_subtrader_group_membership WHERE valid_to IS NULL`)).toBe(20);
    const klear = (method: string, path: string, body?: unknown) =>
      fetch(`${world.sim.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${world.sim.options.adminUserId}:${world.sim.options.accessToken}`,
          'content-type': 'application/json',
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, json: parseKlearJson(await r.text()) as Row }));
    const created = await klear('POST', '/fcm/margin/subtrader_groups', { subtrader_ids: ['ST-00002', 'ST-00003'] });
    expect(created.status).toBe(200);
    // Moving ST-00001 out of its group.
    expect(
      (await klear('PUT', '/fcm/margin/subtrader_groups/GRP-0001', { subtrader_ids: ['ST-00004', 'ST-00007', 'ST-00010'] })).status,
    ).toBe(200);
    expect((await world.runner.runToEnd('subtrader_groups', { trigger: 'manual' }))?.status).toBe('succeeded');
    const history = (await world.db.dataSource.query(
      `SELECT group_id, subtrader_id, valid_to IS NULL AS open FROM klear_subtrader_group_membership
        WHERE subtrader_id IN ('ST-00001', 'ST-00002', 'ST-00003') ORDER BY subtrader_id, valid_from`,
    )) as Row[];
    expect(history).toEqual([
      { group_id: 'GRP-0001', subtrader_id: 'ST-00001', open: false },
      { group_id: created.json.group_id, subtrader_id: 'ST-00002', open: true },
      { group_id: created.json.group_id, subtrader_id: 'ST-00003', open: true },
    ]);
  });
});
