import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { ConfigModule, loadConfig } from '@app/config';
import { KlearAuthError, KlearClient, KlearClientModule } from '@app/klear-client';
import type { RunningKlearSimulator } from '@apps/klear-sim';
import { bearerClient, rejectionOf, requestCount, sessionClient, simAdmin, startSmallSimulator } from './klear-client-world';

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

describe('KlearClient against the simulator', () => {
  let sim: RunningKlearSimulator;
  let client: KlearClient;

  beforeAll(async () => {
    // A deposit above 2^53 centicents puts such values in the balance and the balance history.
    sim = await startSmallSimulator({ initialDepositCenticents: 2n ** 60n + 7n });
    client = bearerClient(sim);
  });
  afterAll(() => sim.close());

  it('walks the obligation history by cursor and keeps each page body as it came', async () => {
    const ids: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.getObligationHistory({ limit: 5, cursor });
      expect(page.raw.status).toBe(200);
      expect(page.raw.endpoint).toBe('GET /margin/obligation_history');
      expect(page.raw.params).toEqual(cursor === undefined ? { limit: '5' } : { limit: '5', cursor });
      expect(page.raw.sha256).toBe(sha256(page.raw.body));
      for (const obligation of page.data.obligations) {
        expect(typeof obligation.amount_centicents).toBe('bigint');
        expect(obligation.settlement_details).toHaveLength(5 * 4);
        const total = obligation.settlement_details.reduce((sum, d) => sum + d.total_amount_centicents, 0n);
        const delta = obligation.maintenance_margin_details.reduce((sum, d) => sum + d.maintenance_margin_delta_centicents, 0n);
        expect(obligation.asset_class).toBe('Crypto');
        expect(obligation.amount_centicents).toBe(total - delta);
        ids.push(obligation.id);
      }
      cursor = page.data.cursor;
      pages++;
    } while (cursor !== undefined);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThanOrEqual(11);
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(ids.length / 5));
  });

  it('reads a settlement balance above 2^53 centicents exactly, and the history entry that made it', async () => {
    const balance = await client.getSettlementBalance();
    const state = await simAdmin(sim, 'GET', '/state');
    expect(balance.data.balance_available_centicents).toBe(BigInt(state.balance_available_centicents));
    expect(balance.data.balance_available_centicents > 2n ** 60n).toBe(true);
    expect(balance.raw.body).toContain(String(balance.data.balance_available_centicents));
    const history = await client.getSettlementBalanceHistory({ limit: 500 });
    const deposit = history.data.entries.find((e) => e.balance_delta_centicents === 2n ** 60n + 7n);
    expect(deposit).toBeDefined();
  });

  it('reads the active obligations, the estimates, the guaranty fund and the large-trader positions', async () => {
    await simAdmin(sim, 'POST', '/clock/settle-open-cycle');
    const active = await client.getActiveObligations();
    expect(active.raw.endpoint).toBe('GET /margin/active_obligations');
    expect(active.data.obligations.map((o) => o.asset_class)).toEqual(['Crypto']);
    expect(typeof active.data.obligations[0].amount_centicents).toBe('bigint');

    const byClass = await client.getSettlementEstimateByAssetClass();
    const crypto = byClass.data.estimates.Crypto;
    const subtraders = Object.values(crypto.subtrader_breakdowns ?? {});
    expect(subtraders).toHaveLength(5);
    expect(crypto.user_breakdown?.total_amount_centicents).toBe(subtraders.reduce((sum, s) => sum + s.total_amount_centicents, 0n));
    expect(Date.parse(crypto.next_runtime)).toBeGreaterThan(Date.parse(active.data.obligations[0].execution_time));
    expect(byClass.data.settlement_balance_centicents).toBe((await client.getSettlementBalance()).data.balance_available_centicents);

    const prices = await client.getSettlementPrices('Crypto', active.data.obligations[0].execution_time);
    expect(Object.keys(prices.data.settlement_prices)).toHaveLength(4);
    expect(prices.raw.params).toEqual({ asset_class: 'Crypto', settlement_time: active.data.obligations[0].execution_time });
    expect((await client.getSettlementPrices('Crypto', '2020-01-01T00:00:00Z')).data.settlement_prices).toEqual({});

    const fund = await client.getGuarantyFundBalance();
    expect(fund.data.user_id).toBe(sim.options.adminUserId);
    expect(typeof fund.data.amount_centicents).toBe('bigint');

    const positions = await client.getLargeTraderPositions('2026-11-18');
    expect(positions.data.report_date).toBe('2026-11-18');
    expect(positions.raw.params).toEqual({ report_date: '2026-11-18' });
    const latest = await client.getLargeTraderPositions();
    expect(latest.raw.params).toEqual({});
    expect(latest.data.report_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('lists margin reports and downloads a file with its exact size and SHA-256, without sending credentials', async () => {
    const listed = await client.getMarginReports('2026-11-10', '2026-11-19');
    expect(listed.raw.params).toEqual({ start_date: '2026-11-10', end_date: '2026-11-19' });
    expect(listed.data.reports.length).toBeGreaterThan(0);
    const report = listed.data.reports[0];
    const sentHeaders: Array<Record<string, string>> = [];
    const watching = bearerClient(sim, {
      fetch: (input, init) => {
        sentHeaders.push({ ...(init?.headers as Record<string, string>) });
        return fetch(input, init);
      },
    });
    const file = await watching.downloadReport(report.url);
    expect(sentHeaders).toHaveLength(1);
    expect(Object.keys(sentHeaders[0]).sort()).toEqual(['accept']);
    const direct = Buffer.from(await (await fetch(report.url)).arrayBuffer());
    expect(file.data.size).toBe(direct.length);
    expect(file.data.sha256).toBe(sha256(direct));
    expect(file.data.bytes.equals(direct)).toBe(true);
    expect(file.raw.endpoint).toBe(`GET ${new URL(report.url).pathname}`);
    expect(file.raw.endpoint).not.toContain('?');
  });

  it('sends a withdrawal as a USD string and reads it back in centicents', async () => {
    const before = await client.getSettlementBalance();
    const created = await client.withdrawSettlementBalance(5_000_000n);
    expect(created.raw.params).toEqual({ amount: '500.00' });
    const counters = await simAdmin(sim, 'GET', '/counters');
    expect(counters.withdrawal_posts.at(-1)).toMatchObject({ amount: '500.00', outcome: 'created', id: created.data.id });
    const withdrawal = await client.getWithdrawal(created.data.id);
    expect(withdrawal.data).toMatchObject({ id: created.data.id, amount: '500.00', amount_centicents: 5_000_000n });
    const after = await client.getSettlementBalance();
    expect(after.data.balance_available_centicents).toBe(before.data.balance_available_centicents - 5_000_000n);
  });

  it('refuses to send a withdrawal that is not a positive whole number of cents', async () => {
    const posts = await requestCount(sim, '/margin/withdraw_settlement_balance');
    await expect(client.withdrawSettlementBalance(0n)).rejects.toThrow(RangeError);
    await expect(client.withdrawSettlementBalance(123n)).rejects.toThrow(/whole cents/);
    expect(await requestCount(sim, '/margin/withdraw_settlement_balance')).toBe(posts);
  });

  it('LEGACY session mode (off by default): logs in with email, password and MFA code, and logs in again once when the session expires', async () => {
    const mfaSim = await startSmallSimulator({ mfaCode: '246810', legacySessionLogin: true });
    try {
      const session = sessionClient(mfaSim);
      await session.getSettlementBalance();
      await session.getGuarantyFundBalance();
      expect(await requestCount(mfaSim, '/log_in')).toBe(1);
      await simAdmin(mfaSim, 'POST', '/sessions/expire');
      const [a, b] = await Promise.all([session.getSettlementBalance(), session.getActiveObligations()]);
      expect(a.raw.status).toBe(200);
      expect(b.raw.status).toBe(200);
      expect(await requestCount(mfaSim, '/log_in')).toBe(2);
      expect(await requestCount(mfaSim, '/margin/settlement_balance')).toBe(3);

      const wrongCode = sessionClient(mfaSim, {
        credentials: { mode: 'session', email: mfaSim.options.email, password: mfaSim.options.password, mfaCode: '111111' },
      });
      const error = await rejectionOf(wrongCode.getSettlementBalance());
      expect(error).toBeInstanceOf(KlearAuthError);
      expect(error).toMatchObject({ status: 401, endpoint: 'POST /log_in' });
      expect(await requestCount(mfaSim, '/margin/settlement_balance')).toBe(3);
    } finally {
      await mfaSim.close();
    }
  });

  it('throws a typed auth error for a bad token (401) and a non-member (403), without retrying', async () => {
    const before = await requestCount(sim, '/margin/settlement_balance');
    const bad = bearerClient(sim, {
      credentials: { mode: 'bearer', adminUserId: sim.options.adminUserId, accessToken: 'wrong-token-value' },
    });
    const unauthorized = await rejectionOf(bad.getSettlementBalance());
    expect(unauthorized).toBeInstanceOf(KlearAuthError);
    expect(unauthorized).toMatchObject({ status: 401, klearCode: 'unauthorized' });
    expect(unauthorized.message).not.toContain('wrong-token-value');
    const nonMember = bearerClient(sim, {
      credentials: { mode: 'bearer', adminUserId: sim.options.nonMemberUserId, accessToken: sim.options.nonMemberAccessToken },
    });
    expect(await rejectionOf(nonMember.getSettlementBalance())).toMatchObject({ status: 403, klearCode: 'forbidden' });
    expect(await requestCount(sim, '/margin/settlement_balance')).toBe(before + 2);
  });

  it('is provided by KlearClientModule from the application configuration', async () => {
    const config = loadConfig({
      KLEAR_BASE_URL: sim.url,
      KLEAR_ADMIN_USER_ID: sim.options.adminUserId,
      KLEAR_ACCESS_TOKEN: sim.options.accessToken,
      KLEAR_TIER: 'premier',
      LOG_LEVEL: 'silent',
    });
    const module = await Test.createTestingModule({ imports: [ConfigModule.forRoot(config), KlearClientModule.forRoot()] }).compile();
    const provided = module.get(KlearClient);
    expect((await provided.getGuarantyFundBalance()).data.user_id).toBe(sim.options.adminUserId);
    await module.close();
  });
});
