import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { LedgerFiguresRepository } from '@app/ledger';
import { type ApiWorld, startApiWorld } from '../support/api-world';
import { auth, bufferMovement, CYCLE, marginRequirement, reversalOf, tradeSettlement } from './ledger-factory';

describe('POST /ledger/entries and GET /ledger/entries', () => {
  let ctx: ApiWorld;
  const ledgerRows = async () => ({ entries: await ctx.db.count('journal_entry'), postings: await ctx.db.count('journal_posting') });

  beforeAll(async () => {
    ctx = await startApiWorld();
  });
  afterAll(async () => ctx.close());

  const settlement = tradeSettlement('TS-1', 'ST-00001', [
    { ticker: 'BTC-PERP-001', pnl: 1_250_000n, fee: 5_000n },
    { ticker: 'ETH-PERP-002', pnl: -300_000n, fee: 2_500n },
  ]);
  const margin = marginRequirement('MM-1', 'ST-00001', 4_000_000n);
  const deposit = bufferMovement('BUF-1', 100_000_000n, 'BTX-88123');

  it('posts a batch in one transaction and answers with counts and ledger positions', async () => {
    const res = await ctx
      .http()
      .post('/ledger/entries')
      .set(auth(ctx.tokens.operator))
      .send({ entries: [settlement, margin, deposit] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ created: 3, unchanged: 0 });
    expect(res.body.entries.map((e: { external_id: string; status: string }) => [e.external_id, e.status])).toEqual([
      ['TS-1', 'created'],
      ['MM-1', 'created'],
      ['BUF-1', 'created'],
    ]);
    expect(await ledgerRows()).toEqual({ entries: 3, postings: 9 });
    const audit = (await ctx.db.dataSource.query(`SELECT details FROM audit_log WHERE action = 'ledger.entries.posted'`)) as Array<{
      details: Record<string, unknown>;
    }>;
    expect(audit).toHaveLength(1);
    expect(audit[0].details).toMatchObject({ created: 3, unchanged: 0, entries: 3 });
  });

  it('lists entries with their postings as decimal strings, filtered by subtrader, cycle and type', async () => {
    const res = await ctx
      .http()
      .get('/ledger/entries')
      .query({ subtrader: 'ST-00001', cycle: '2026-11-03T16:00:00-05:00' })
      .set(auth(ctx.tokens.viewer));
    expect(res.status).toBe(200);
    expect(res.body.data.map((e: { external_id: string }) => e.external_id)).toEqual(['TS-1', 'MM-1']);
    expect(res.body.data[0]).toMatchObject({
      entry_type: 'trade_settlement',
      cycle: CYCLE,
      subtrader_id: 'ST-00001',
      created_by: 'test-operator',
    });
    expect(res.body.data[0].postings[0]).toEqual({
      account: 'trading_pnl',
      market_ticker: 'BTC-PERP-001',
      amount_centicents: '1250000',
      amount_usd: '$125.0000',
    });
    expect(res.body.data[0].postings[4]).toMatchObject({ account: 'klear_settlement', market_ticker: null, amount_centicents: '-942500' });
    const buffer = await ctx.http().get('/ledger/entries').query({ entry_type: 'buffer_movement' }).set(auth(ctx.tokens.viewer));
    expect(buffer.body.data).toHaveLength(1);
    expect(buffer.body.data[0]).toMatchObject({
      external_id: 'BUF-1',
      effective_at: '2026-11-03T19:30:00.000Z',
      business_reference: 'BTX-88123',
      cycle: null,
    });
    const page1 = await ctx.http().get('/ledger/entries').query({ limit: 2 }).set(auth(ctx.tokens.viewer));
    expect(page1.body.data).toHaveLength(2);
    const page2 = await ctx.http().get('/ledger/entries').query({ limit: 2, cursor: page1.body.next_cursor }).set(auth(ctx.tokens.viewer));
    expect(page2.body.data.map((e: { external_id: string }) => e.external_id)).toEqual(['BUF-1']);
    expect(page2.body.next_cursor).toBeNull();
  });

  it('treats a re-posted entry with the same content as unchanged, postings in any order', async () => {
    const reordered = { ...settlement, postings: [...settlement.postings].reverse(), cycle: '2026-11-03T16:00:00-05:00' };
    const res = await ctx
      .http()
      .post('/ledger/entries')
      .set(auth(ctx.tokens.operator))
      .send({ entries: [reordered, margin, deposit] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ created: 0, unchanged: 3 });
    expect(await ledgerRows()).toEqual({ entries: 3, postings: 9 });
  });

  it('refuses an external_id re-posted with different content with 409 naming it, writing nothing', async () => {
    const changed = marginRequirement('MM-1', 'ST-00001', 4_000_001n);
    const fresh = marginRequirement('MM-2', 'ST-00002', 10n);
    const res = await ctx
      .http()
      .post('/ledger/entries')
      .set(auth(ctx.tokens.operator))
      .send({ entries: [fresh, changed] });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('LEDGER_ENTRY_CONFLICT');
    expect(res.body.message).toContain('MM-1');
    expect(res.body.details).toEqual([
      { field: 'entries[1].external_id', external_id: 'MM-1', problems: ['already booked with different content'] },
    ]);
    expect(await ledgerRows()).toEqual({ entries: 3, postings: 9 });
  });

  it('names every invalid field with its index and writes nothing', async () => {
    const unbalanced = marginRequirement('MM-3', 'ST-00003', 7n);
    unbalanced.postings[1].amount_centicents = '-6';
    const numberAmount = { ...marginRequirement('MM-4', 'ST-00003', 7n) } as Record<string, unknown>;
    numberAmount.postings = [
      { account: 'maintenance_margin', amount_centicents: 7 },
      { account: 'maintenance_margin_contra', amount_centicents: '-7' },
    ];
    const unknownField = { ...marginRequirement('MM-5', 'ST-00003', 7n), colour: 'red' };
    const before = await ledgerRows();
    const shape = await ctx
      .http()
      .post('/ledger/entries')
      .set(auth(ctx.tokens.operator))
      .send({ entries: [numberAmount, unknownField] });
    expect(shape.status).toBe(400);
    const fields = (shape.body.details as Array<{ field: string }>).map((d) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['entries[0].postings[0].amount_centicents', 'entries[1].colour']));

    const noTicker = tradeSettlement('TS-9', 'ST-00003', [{ ticker: 'BTC-PERP-001', pnl: 10n, fee: 1n }]);
    delete noTicker.postings[0].market_ticker;
    const wrongAccount = {
      ...bufferMovement('BUF-9', 5n, 'R-1'),
      postings: [
        { account: 'trading_pnl', market_ticker: 'X-1', amount_centicents: '5' },
        { account: 'bank', amount_centicents: '-5' },
      ],
    };
    const noCycle = { ...marginRequirement('MM-6', 'ST-00003', 1n), cycle: null };
    const rules = await ctx
      .http()
      .post('/ledger/entries')
      .set(auth(ctx.tokens.operator))
      .send({ entries: [margin, unbalanced, noTicker, wrongAccount, noCycle] });
    expect(rules.status).toBe(400);
    expect(rules.body.code).toBe('VALIDATION_FAILED');
    expect(rules.body.details).toEqual(
      expect.arrayContaining([
        { field: 'entries[1].postings', problems: ['postings must sum to zero, they sum to 1 centicents'] },
        { field: 'entries[2].postings[0].market_ticker', problems: ['is required on trading_pnl postings'] },
        {
          field: 'entries[3].postings[0].account',
          problems: ['a buffer_movement entry posts only to settlement_buffer, bank, klear_settlement'],
        },
        { field: 'entries[4].cycle', problems: ['is required'] },
      ]),
    );
    expect(await ledgerRows()).toEqual(before);
  });

  it('books a reversal as the exact negation, once, and the figures net to zero', async () => {
    const reversal = reversalOf(settlement, 'TS-1-REV');
    const res = await ctx
      .http()
      .post('/ledger/entries')
      .set(auth(ctx.tokens.operator))
      .send({ entries: [reversal] });
    expect(res.status).toBe(200);
    const again = await ctx
      .http()
      .post('/ledger/entries')
      .set(auth(ctx.tokens.operator))
      .send({ entries: [reversalOf(settlement, 'TS-1-REV-2')] });
    expect(again.status).toBe(400);
    expect(again.body.details).toEqual([{ field: 'entries[0].reverses_external_id', problems: ['TS-1 is already reversed by TS-1-REV'] }]);
    const partialReversal = reversalOf(margin, 'MM-1-REV');
    partialReversal.postings = [
      { account: 'maintenance_margin', amount_centicents: '-1' },
      { account: 'maintenance_margin_contra', amount_centicents: '1' },
    ];
    const mismatch = await ctx
      .http()
      .post('/ledger/entries')
      .set(auth(ctx.tokens.operator))
      .send({ entries: [partialReversal] });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.details[0]).toEqual({ field: 'entries[0].postings', problems: ["must be the exact negation of MM-1's postings"] });

    const listed = await ctx.http().get('/ledger/entries').query({ external_id: 'TS-1' }).set(auth(ctx.tokens.viewer));
    expect(listed.body.data[0].reversed_by_external_id).toBe('TS-1-REV');
    const figures = ctx.app.get(LedgerFiguresRepository);
    const hwm = res.body.entries[0].ledger_seq as string;
    expect(await figures.marketFigures(CYCLE, hwm)).toEqual([
      {
        subtraderId: 'ST-00001',
        marketTicker: 'BTC-PERP-001',
        pnlCenticents: 0n,
        feesCenticents: 0n,
        totalCenticents: 0n,
        postingCount: 4,
      },
      {
        subtraderId: 'ST-00001',
        marketTicker: 'ETH-PERP-002',
        pnlCenticents: 0n,
        feesCenticents: 0n,
        totalCenticents: 0n,
        postingCount: 4,
      },
    ]);
    // As of the ledger before the reversal, the figures are the original booking's.
    const before = await figures.subtraderFigures(CYCLE, (BigInt(hwm) - 1n).toString());
    expect(before).toEqual([
      {
        subtraderId: 'ST-00001',
        pnlCenticents: 950_000n,
        feesCenticents: 7_500n,
        totalCenticents: 942_500n,
        maintenanceMarginCenticents: 4_000_000n,
        hasMaintenanceMargin: true,
        openSettlementEntries: 1,
      },
    ]);
    const after = await figures.subtraderFigures(CYCLE, hwm);
    expect(after[0]).toMatchObject({ totalCenticents: 0n, maintenanceMarginCenticents: 4_000_000n, openSettlementEntries: 0 });
  });

  it('lets a viewer read but not post', async () => {
    const res = await ctx
      .http()
      .post('/ledger/entries')
      .set(auth(ctx.tokens.viewer))
      .send({ entries: [marginRequirement('MM-7', 'ST-7', 1n)] });
    expect(res.status).toBe(403);
    const anonymous = await ctx
      .http()
      .post('/ledger/entries')
      .send({ entries: [marginRequirement('MM-7', 'ST-7', 1n)] });
    expect(anonymous.status).toBe(401);
    expect(await ctx.db.count(`journal_entry WHERE external_id = 'MM-7'`)).toBe(0);
  });

  it('posts 10,000 entries of 3 postings in one request, all in one transaction', async () => {
    const entries = Array.from({ length: 10_000 }, (_, i) =>
      tradeSettlement(
        `BULK-${i}`,
        `ST-B${i % 500}`,
        [{ ticker: `M-${i % 100}`, pnl: BigInt(i * 37 - 150_000), fee: BigInt(i % 13) }],
        '2026-11-04T21:00:00Z',
      ),
    );
    const res = await ctx.http().post('/ledger/entries').set(auth(ctx.tokens.operator)).send({ entries });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ created: 10_000, unchanged: 0 });
    expect(await ctx.db.count(`journal_posting WHERE cycle = '2026-11-04T21:00:00Z'`)).toBe(30_000);
    const sums = (await ctx.db.dataSource.query(`SELECT sum(amount_centicents)::text AS s FROM journal_posting`)) as Array<{ s: string }>;
    expect(sums[0].s).toBe('0');
  });

  it('bounds a page by postings as well as entries, and the cursor walks every entry once', async () => {
    const markets = Array.from({ length: 300 }, (_, m) => ({ ticker: `WIDE-${m}`, pnl: BigInt(m + 1), fee: 1n }));
    const entries = Array.from({ length: 6 }, (_, i) => tradeSettlement(`WIDE-${i}`, `ST-W${i}`, markets, '2026-11-05T21:00:00Z'));
    expect((await ctx.http().post('/ledger/entries').set(auth(ctx.tokens.operator)).send({ entries })).status).toBe(200);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await ctx
        .http()
        .get('/ledger/entries')
        .query({ cycle: '2026-11-05T21:00:00Z', limit: 50, ...(cursor ? { cursor } : {}) })
        .set(auth(ctx.tokens.viewer));
      expect(page.status).toBe(200);
      const postings = page.body.data.reduce((n: number, e: { postings: unknown[] }) => n + e.postings.length, 0);
      // 601 postings per entry, over the 200-posting page budget: each page holds exactly one entry.
      expect(page.body.data).toHaveLength(1);
      expect(postings).toBe(601);
      seen.push(...page.body.data.map((e: { external_id: string }) => e.external_id));
      cursor = page.body.next_cursor ?? undefined;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(6);
    expect(seen).toEqual(['WIDE-0', 'WIDE-1', 'WIDE-2', 'WIDE-3', 'WIDE-4', 'WIDE-5']);
  });

  it('fills a page with the whole entries that fit the posting budget, never part of one, and says when none follow', async () => {
    // 49 markets: 99 postings an entry; two fit in the budget of 200 (198), a third would not (297).
    const markets = Array.from({ length: 49 }, (_, m) => ({ ticker: `MID-${m}`, pnl: BigInt(m + 3), fee: 2n }));
    const entries = Array.from({ length: 7 }, (_, i) => tradeSettlement(`MID-${i}`, `ST-M${i}`, markets, '2026-11-06T21:00:00Z'));
    expect((await ctx.http().post('/ledger/entries').set(auth(ctx.tokens.operator)).send({ entries })).status).toBe(200);
    const walk = async (limit: number) => {
      const pages: string[][] = [];
      let cursor: string | undefined;
      do {
        const page = await ctx
          .http()
          .get('/ledger/entries')
          .query({ cycle: '2026-11-06T21:00:00Z', limit, ...(cursor ? { cursor } : {}) })
          .set(auth(ctx.tokens.viewer));
        expect(page.status).toBe(200);
        for (const e of page.body.data as Array<{ postings: unknown[] }>) expect(e.postings).toHaveLength(99);
        pages.push(page.body.data.map((e: { external_id: string }) => e.external_id));
        cursor = page.body.next_cursor ?? undefined;
      } while (cursor);
      return pages;
    };
    expect(await walk(50)).toEqual([['MID-0', 'MID-1'], ['MID-2', 'MID-3'], ['MID-4', 'MID-5'], ['MID-6']]);
    expect(await walk(1)).toEqual([['MID-0'], ['MID-1'], ['MID-2'], ['MID-3'], ['MID-4'], ['MID-5'], ['MID-6']]);
  });
});
