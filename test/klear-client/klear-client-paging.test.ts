import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { completeObligations, klearDetailPager } from '@app/ingestion';
import type { RunningKlearSimulator } from '@apps/klear-sim';
import { bearerClient, startSmallSimulator } from './klear-client-world';

/*
 * Paging an obligation's detail lists is pipelined (docs/ingestion.md, "Paging"): page N+1 is asked
 * for as soon as page N's cursor is read, while page N is interpreted and kept (archived), so at a
 * rate-limited tier the next request waits only for its token. The pages and their archived
 * parameters are those of reading one page at a time.
 */
describe('pipelined paging of obligation details', () => {
  jest.setTimeout(120_000);
  let sim: RunningKlearSimulator;
  beforeAll(async () => {
    // 1,200 settlement details per obligation: the inline list is cut at 1,000.
    sim = await startSmallSimulator({ subtraders: 30, markets: 40, days: 2 });
  });
  afterAll(() => sim?.close());

  it('sends the request for page N+1 while page N is being kept, and reads the same pages as one at a time', async () => {
    const events: string[] = [];
    const client = bearerClient(sim, {
      fetch: (input, init) => {
        const cursor = new URL(String(input)).searchParams.get('cursor');
        if (String(input).includes('/settlement_details')) events.push(`sent ${cursor ?? 'first'}`);
        return fetch(input, init);
      },
    });
    const [entry] = (await client.getObligationHistory({ limit: 1 })).data.obligations;
    expect(entry.settlement_details_truncated).toBe(true);

    const walked: Array<{ cursor: string | undefined; ids: string[]; params: Record<string, string> }> = [];
    for await (const page of client.walkObligationDetails(entry.id, 'settlement_details', { limit: 100 })) {
      const cursor = page.data.cursor || undefined;
      events.push(`got ${cursor ?? 'last'}`);
      // Keeping the page (the archive write) takes a while; the next page is on its way meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 20));
      events.push(`kept ${cursor ?? 'last'}`);
      walked.push({ cursor, ids: page.data.settlement_details.map((d) => d.id), params: page.raw.params });
    }
    expect(walked).toHaveLength(12);
    for (const { cursor } of walked.slice(0, -1)) {
      // The request following a page's cursor was asked for before the page was handed over, and left while it was being kept.
      expect(events.indexOf(`sent ${cursor}`)).toBeGreaterThanOrEqual(0);
      expect(events.indexOf(`sent ${cursor}`)).toBeLessThan(events.indexOf(`kept ${cursor}`));
    }

    const serial: typeof walked = [];
    let cursor: string | undefined;
    do {
      const page = await client.getObligationSettlementDetails(entry.id, { limit: 100, cursor });
      cursor = page.data.cursor || undefined;
      serial.push({ cursor, ids: page.data.settlement_details.map((d) => d.id), params: page.raw.params });
    } while (cursor);
    expect(walked).toEqual(serial);
    expect(new Set(walked.flatMap((p) => p.ids)).size).toBe(1_200);
  });

  it('completes a cut obligation through the pipelined pager, each page kept before its rows are used, and stops asking when a walk fails', async () => {
    const client = bearerClient(sim);
    const answer = await client.getObligationHistory({ limit: 1 });
    const kept: Array<Record<string, string>> = [];
    const completion = await completeObligations(
      answer.data.obligations,
      klearDetailPager(client, async (page) => void kept.push(page.raw.params)),
      async () => false,
    );
    const [entry] = answer.data.obligations;
    expect(completion.entries.get(entry.id)!.settlement_details).toHaveLength(1_200);
    expect(kept.filter((p) => p.cursor === undefined)).toHaveLength(completion.completed.get(entry.id)!.length);
    expect(kept).toHaveLength(completion.pages);

    // Keeping a page fails (the archive is down): the obligation is not completed, nothing more is asked for long after.
    let sent = 0;
    const counting = bearerClient(sim, { fetch: (input, init) => ((sent += 1), fetch(input, init)) });
    await expect(
      completeObligations(
        answer.data.obligations,
        klearDetailPager(counting, async () => Promise.reject(new Error('archive down'))),
        async () => false,
      ),
    ).rejects.toThrow(/not stored: its settlement_details .* archive down/);
    // The first page and at most the one asked for ahead of it.
    expect(sent).toBeLessThanOrEqual(2);
  });
});
