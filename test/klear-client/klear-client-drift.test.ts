import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { KlearHttpError, KlearOutcomeUnknownError, KlearSchemaError } from '@app/klear-client';
import { bearerClient, rejectionOf } from './klear-client-world';

type Answer = { status: number; body: string; headers?: Record<string, string> };

/** A stand-in Klear that answers what each test scripts, counting requests per path. */
class ScriptedKlear {
  readonly answers = new Map<string, Answer[]>();
  readonly counts = new Map<string, number>();
  private server: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname.replace('/klear-api/v1', '');
      this.counts.set(path, (this.counts.get(path) ?? 0) + 1);
      const queue = this.answers.get(path) ?? [];
      const answer = queue.length > 1 ? queue.shift()! : (queue[0] ?? { status: 404, body: '{"code":"not_found","message":"no script"}' });
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body);
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/klear-api/v1`;
  }

  script(path: string, ...answers: Answer[]): void {
    this.answers.set(path, answers);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('KlearClient facing answers that drift from the contract', () => {
  const klear = new ScriptedKlear();
  const sim = () => ({ url: klear.url, options: { adminUserId: 'admin-7', accessToken: 'tok-drift-secret' } }) as never;

  beforeAll(() => klear.start());
  beforeEach(() => {
    klear.answers.clear();
    klear.counts.clear();
  });
  afterAll(() => klear.close());

  it('throws KlearSchemaError naming the endpoint and the missing field, keeps the raw body and does not retry', async () => {
    const body = '{"user_id":"admin-7","locked_balance_centicents":0}';
    klear.script('/margin/settlement_balance', { status: 200, body });
    const error = await rejectionOf(bearerClient(sim()).getSettlementBalance());
    expect(error).toBeInstanceOf(KlearSchemaError);
    const drift = error as KlearSchemaError;
    expect(drift.endpoint).toBe('GET /margin/settlement_balance');
    expect(drift.issues).toEqual([{ path: 'balance_available_centicents', message: expect.stringContaining('expected bigint') }]);
    expect(drift.rawBody).toBe(body);
    expect(klear.counts.get('/margin/settlement_balance')).toBe(1);
  });

  it('points at a mistyped field deep in a page and at a number that would lose precision', async () => {
    const obligation = {
      id: 'ob-1',
      user_id: 'admin-7',
      amount_centicents: '12',
      fees_centicents: 0,
      maintenance_margin_centicents: 0,
      pnl_centicents: 0,
      execution_time: '2026-11-19T22:00:00Z',
      last_updated_ts: '2026-11-19T22:00:00Z',
      asset_class: 'Crypto',
      receives: [],
      settlement_details: [],
      maintenance_margin_details: [],
      funding_payments: [],
    };
    klear.script('/margin/obligation_history', { status: 200, body: JSON.stringify({ obligations: [obligation] }) });
    const error = (await rejectionOf(bearerClient(sim()).getObligationHistory())) as KlearSchemaError;
    expect(error.issues.map((i) => i.path)).toEqual(['obligations[0].amount_centicents']);
    klear.script('/margin/guaranty_fund_balance', {
      status: 200,
      body: '{"user_id":"admin-7","amount_centicents":1e3,"updated_ts":"2026-11-19T22:00:00Z"}',
    });
    expect(((await rejectionOf(bearerClient(sim()).getGuarantyFundBalance())) as KlearSchemaError).issues[0].path).toBe(
      'amount_centicents',
    );
  });

  it('accepts fields Klear added and reports them as unmapped; refuses a missing required field', async () => {
    const obligation = {
      id: 'ob-2',
      user_id: 'admin-7',
      asset_class: 'Crypto',
      amount_centicents: -5,
      fees_centicents: 5,
      maintenance_margin_centicents: 0,
      pnl_centicents: 0,
      execution_time: '2026-11-19T22:00:00Z',
      last_updated_ts: '2026-11-19T22:00:00Z',
      receives: null,
      maintenance_margin_details: null,
      funding_payments: null,
      settlement_details: [
        {
          id: 'sd-1',
          market_ticker: 'BTC-PERP',
          subtrader_id: 'S1',
          position_quantity_fp: '2.5',
          pnl_centicents: 0,
          total_fees_centicents: 5,
          total_amount_centicents: -5,
          venue: 'X',
        },
      ],
      settlement_currency: 'USD',
    };
    klear.script('/margin/active_obligations', { status: 200, body: JSON.stringify({ obligations: [obligation], served_by: 'klear-7' }) });
    const answer = await bearerClient(sim()).getActiveObligations();
    expect(answer.data.obligations[0].receives).toEqual([]);
    expect(answer.data.obligations[0].settlement_details[0].position_quantity_fp).toBe('2.5');
    expect(answer.unmapped).toEqual(['obligations[].settlement_currency', 'obligations[].settlement_details[].venue', 'served_by']);
    expect(answer.raw.body).toContain('settlement_currency');
    const { asset_class: _dropped, ...withoutClass } = obligation;
    klear.script('/margin/active_obligations', { status: 200, body: JSON.stringify({ obligations: [withoutClass] }) });
    const error = (await rejectionOf(bearerClient(sim()).getActiveObligations())) as KlearSchemaError;
    expect(error).toBeInstanceOf(KlearSchemaError);
    expect(error.issues.map((i) => i.path)).toEqual(['obligations[0].asset_class']);
  });

  it('reads an empty-string last cursor as the end of a paged detail list, and encodes the obligation id in the path', async () => {
    klear.script('/margin/obligations/ob%2F3/settlement_details', { status: 200, body: '{"settlement_details":null,"cursor":""}' });
    const page = await bearerClient(sim()).getObligationSettlementDetails('ob/3', { limit: 1000 });
    expect(page.data).toEqual({ settlement_details: [], cursor: undefined });
    expect(page.raw.endpoint).toBe('GET /margin/obligations/{obligation_id}/settlement_details');
    expect(page.raw.params).toEqual({ obligation_id: 'ob/3', limit: '1000' });
  });

  it('sends the maintenance margin estimate (a POST) once unless retries are asked for explicitly', async () => {
    const request = { asset_class: 'Crypto', positions: [{ market_ticker: 'BTC-PERP', quantity: -2n, price: '6.80' }] };
    klear.script(
      '/margin/estimate_maintenance_margin',
      { status: 503, body: '{"code":"unavailable","message":"busy"}' },
      { status: 200, body: '{"maintenance_margin_fp":"1234.5600"}' },
    );
    const once = await rejectionOf(bearerClient(sim(), { maxRetries: 3 }).estimateMaintenanceMargin(request));
    expect(once).toMatchObject({ status: 503 });
    expect(klear.counts.get('/margin/estimate_maintenance_margin')).toBe(1);
    klear.script(
      '/margin/estimate_maintenance_margin',
      { status: 503, body: '{"code":"unavailable","message":"busy"}' },
      { status: 200, body: '{"maintenance_margin_fp":"1234.5600"}' },
    );
    const retried = await bearerClient(sim(), { maxRetries: 3 }).estimateMaintenanceMargin(request, { retry: true });
    expect(retried.data.maintenance_margin_fp).toBe('1234.5600');
    expect(klear.counts.get('/margin/estimate_maintenance_margin')).toBe(3);
    await expect(
      bearerClient(sim()).estimateMaintenanceMargin({
        asset_class: 'Crypto',
        positions: [{ market_ticker: 'X', quantity: 0n, price: '1' }],
      }),
    ).rejects.toThrow(RangeError);
  });

  it('keeps a presigned URL out of the message of a report-list drift while the raw body keeps it', async () => {
    const body = JSON.stringify({
      reports: [
        {
          report_type: 'trade_audit',
          url: 'https://files.test/r.csv?X-Amz-Signature=deadbeef',
          date: 'yesterday',
          created_ts: '2026-11-19T22:00:00Z',
          is_end_of_day: true,
        },
      ],
    });
    klear.script('/margin/reports', { status: 200, body });
    const error = (await rejectionOf(bearerClient(sim()).getMarginReports('2026-11-01', '2026-11-19'))) as KlearSchemaError;
    expect(error.issues.map((i) => i.path)).toEqual(['reports[0].date']);
    expect(error.message).not.toContain('deadbeef');
    expect(error.rawBody).toContain('deadbeef');
  });

  it('honours a Retry-After given as an HTTP date', async () => {
    const at = new Date(Date.now() + 2000).toUTCString();
    klear.script(
      '/margin/guaranty_fund_balance',
      { status: 429, body: '{"code":"rate_limited","message":"slow down"}', headers: { 'retry-after': at } },
      { status: 200, body: '{"user_id":"admin-7","amount_centicents":5,"updated_ts":"2026-11-19T22:00:00Z"}' },
    );
    const started = Date.now();
    const answer = await bearerClient(sim()).getGuarantyFundBalance();
    expect(answer.data.amount_centicents).toBe(5n);
    expect(Date.now() - started).toBeGreaterThanOrEqual(Date.parse(at) - started - 5);
    expect(klear.counts.get('/margin/guaranty_fund_balance')).toBe(2);
  });

  it('maps a gateway page that is not JSON to an HTTP error with the status only', async () => {
    klear.script('/margin/settlement_estimate_by_asset_class', { status: 504, body: '<html>gateway timeout</html>' });
    const error = await rejectionOf(bearerClient(sim(), { maxRetries: 1 }).getSettlementEstimateByAssetClass());
    expect(error).toBeInstanceOf(KlearHttpError);
    expect(error).toMatchObject({ status: 504, klearCode: undefined });
    expect(error.message).toBe('Klear GET /margin/settlement_estimate_by_asset_class answered 504');
    expect(klear.counts.get('/margin/settlement_estimate_by_asset_class')).toBe(2);
  });

  it('scrubs a credential that Klear echoes in an error message', async () => {
    klear.script('/margin/active_obligations', {
      status: 400,
      body: '{"code":"bad_request","message":"token admin-7:tok-drift-secret is not valid here"}',
    });
    const error = (await rejectionOf(bearerClient(sim()).getActiveObligations())) as KlearHttpError;
    expect(error.klearMessage).toBe('token [REDACTED] is not valid here');
    expect(error.message).not.toContain('tok-drift-secret');
  });

  it('reports a withdrawal whose 2xx answer cannot be read as an unknown outcome, sent once', async () => {
    klear.script('/margin/withdraw_settlement_balance', { status: 200, body: '{"withdrawal":"w-1"}' });
    const error = await rejectionOf(bearerClient(sim()).withdrawSettlementBalance(10_000n));
    expect(error).toBeInstanceOf(KlearOutcomeUnknownError);
    expect(error).toMatchObject({ reason: 'unreadable_answer' });
    expect((error as KlearOutcomeUnknownError).cause).toBeInstanceOf(KlearSchemaError);
    expect(klear.counts.get('/margin/withdraw_settlement_balance')).toBe(1);
  });
});
