import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '@app/clock';
import { startApiWorld, type ApiWorld } from '../support/api-world';
import { CYCLE_1, CYCLE_2, CYCLE_PREVIOUS_DAY, HUGE_PNL, seedReconciledDay } from '../exports/reconciled-day-factory';

// The series behind the console's charts, on the seeded day (2026-03-10 ET: two cycles, three balance
// pulls): the buffer per settlement day against that day's obligations, and a subtrader's figures per cycle.
// Every amount is a decimal string of centicents, exact beyond 2^53.
let ctx: ApiWorld;
const get = (path: string) => ctx.http().get(path).set('Authorization', `Bearer ${ctx.tokens.viewer}`);

beforeAll(async () => {
  ctx = await startApiWorld({}, { clock: new ManualClock('2026-03-11T12:00:00Z') });
  await seedReconciledDay(ctx.db.dataSource);
}, 120_000);

afterAll(async () => {
  await ctx?.close();
});

describe('GET /settlement/buffer-by-day', () => {
  it("gives each settlement day ending today (ET) the buffer at the day's last pull and the day's obligations", async () => {
    const res = await get('/settlement/buffer-by-day?days=4');
    expect(res.status).toBe(200);
    expect([res.body.from, res.body.to]).toEqual(['2026-03-08', '2026-03-11']);
    const pick = (d: Record<string, unknown>) => [
      d.date,
      d.available_centicents,
      d.locked_centicents,
      d.balance_centicents,
      d.payable_centicents,
      d.receivable_centicents,
      d.cycles,
    ];
    expect(res.body.days.map(pick)).toEqual([
      ['2026-03-08', null, null, null, '0', '0', 0],
      // 22:59 ET pull; the cycle of 22:00 ET (03:00Z next day) is this day's.
      ['2026-03-09', '10000000', '0', '10000000', '0', '123450', 1],
      // The 21:30Z pull is the day's last (05:00Z on 03-11 is already the next ET day); two cycles, one beyond 2^53.
      ['2026-03-10', '13765433', '250000', '14015433', '0', (1_297_263n + HUGE_PNL - 101n).toString(), 2],
      ['2026-03-11', '1', '1', '2', '0', '0', 0],
    ]);
  });

  it('defaults to 30 days and refuses more than 90', async () => {
    expect((await get('/settlement/buffer-by-day')).body.days).toHaveLength(30);
    expect((await get('/settlement/buffer-by-day?days=91')).status).toBe(400);
  });
});

describe('GET /subtraders/{id}/cycles', () => {
  it("gives a subtrader's PnL, fees and margin per cycle, oldest first, null where it had none", async () => {
    const a = await get('/subtraders/ST-A/cycles');
    expect(a.status).toBe(200);
    const pick = (c: Record<string, unknown>) => [c.cycle, c.pnl_centicents, c.fees_centicents, c.maintenance_margin_centicents];
    expect(a.body.cycles.map(pick)).toEqual([
      [CYCLE_PREVIOUS_DAY, '123456', '6', null],
      [CYCLE_1, '1220000', '525', '400000'],
      [CYCLE_2, '-99', '1', null],
    ]);
    const h = await get('/subtraders/ST-H/cycles?limit=2');
    expect(h.body.cycles.map(pick)).toEqual([
      [CYCLE_1, null, null, null],
      [CYCLE_2, HUGE_PNL.toString(), '1', '0'],
    ]);
  });

  it('is 404 for an unknown subtrader; both routes are in the OpenAPI document', async () => {
    expect((await get('/subtraders/NOPE/cycles')).status).toBe(404);
    const doc = (await ctx.http().get('/docs-json')).body;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/settlement/buffer-by-day', '/subtraders/{id}/cycles']));
  });
});
