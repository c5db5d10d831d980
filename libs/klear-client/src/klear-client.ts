import {
  ENDPOINTS,
  type EstimateMaintenanceMarginRequest,
  type KlearEndpointName,
  type Withdrawal,
  endpointPath,
  centicentsToUsdAmount,
  stringifyKlearJson,
  usdAmountToCenticents,
} from '@app/klear-contract';
import { type KlearAnswerData, type KlearResponse, notJsonError, parseKlearAnswerWithUnmapped, sha256Hex } from './klear-answer';
import {
  KlearClientError,
  KlearHttpError,
  KlearNetworkError,
  KlearOutcomeUnknownError,
  KlearSchemaError,
  KlearTimeoutError,
} from './klear-errors';
import { type KlearCall, type KlearClientOptions, KlearHttpPipeline, type SendGuard } from './klear-http-pipeline';
import type { KlearBodySink, KlearExchange } from './klear-transport';
import { type SpooledBody, SpooledJsonError, scanSpooledObject } from './spooled-body';

export interface PageRequest {
  limit?: number;
  cursor?: string;
}

/** An obligation's paged detail lists and their endpoints. */
export const DETAIL_LIST_ENDPOINTS = {
  settlement_details: 'obligationSettlementDetails',
  maintenance_margin_details: 'obligationMaintenanceMarginDetails',
  funding_payments: 'obligationFundingPayments',
} as const;

export type ObligationDetailList = keyof typeof DETAIL_LIST_ENDPOINTS;

type DetailListEndpoint = (typeof DETAIL_LIST_ENDPOINTS)[ObligationDetailList];

export interface DownloadedReport {
  bytes: Buffer;
  sha256: string;
  size: number;
}

export type WithdrawalWithCenticents = Withdrawal & { amount_centicents: bigint };

/**
 * A typed client of the Klear SCM API (the contract: `docs/klear-api-contract.md`; how the product uses it:
 * `docs/klear-api.md`). Every method answers `{ data, raw }`: the contract-validated data (money as
 * bigint) and the body as it came.
 *
 * Rate limits are Klear's per member: each instance limits itself to its configured share of the
 * tier. Several processes calling Klear for the same member must split the tier with `rateShare`.
 */
/** Report files are refused past this size unless the client is told otherwise (KLEAR_REPORT_MAX_BYTES). */
export const DEFAULT_REPORT_MAX_BYTES = 256 * 1024 * 1024;

export class KlearClient {
  private readonly pipeline: KlearHttpPipeline;
  private readonly baseUrl: string;
  private readonly maxWriteWaitMs: number;

  constructor(private readonly options: KlearClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.maxWriteWaitMs = options.maxRetryAfterMs ?? 60_000;
    this.pipeline = new KlearHttpPipeline({ ...options, baseUrl: this.baseUrl });
  }

  get circuitState(): 'closed' | 'open' | 'half_open' | 'isolated' {
    return this.pipeline.circuitState;
  }

  /** Removes this client's secrets (and generic secret patterns) from a text, for callers' logs. */
  redact(text: string): string {
    return this.pipeline.redactor.redact(text);
  }

  getMarginReports(startDate: string, endDate: string): Promise<KlearResponse<KlearAnswerData<'marginReports'>>> {
    return this.read('marginReports', { start_date: startDate, end_date: endDate });
  }

  /** Every active obligation, one per asset class (`null` reads as an empty list). */
  getActiveObligations(): Promise<KlearResponse<KlearAnswerData<'activeObligations'>>> {
    return this.read('activeObligations', {});
  }

  /** Most recent first; pass the answer's `cursor` for the next page (none: last page). */
  getObligationHistory(page: PageRequest = {}): Promise<KlearResponse<KlearAnswerData<'obligationHistory'>>> {
    return this.read('obligationHistory', pageParams(page));
  }

  /** One page (at most 1,000) of an obligation's complete settlement details. */
  getObligationSettlementDetails(
    obligationId: string,
    page: PageRequest = {},
  ): Promise<KlearResponse<KlearAnswerData<'obligationSettlementDetails'>>> {
    return this.read('obligationSettlementDetails', pageParams(page), { obligation_id: obligationId });
  }

  /** One page (at most 1,000) of an obligation's complete maintenance margin details. */
  getObligationMaintenanceMarginDetails(
    obligationId: string,
    page: PageRequest = {},
  ): Promise<KlearResponse<KlearAnswerData<'obligationMaintenanceMarginDetails'>>> {
    return this.read('obligationMaintenanceMarginDetails', pageParams(page), { obligation_id: obligationId });
  }

  /** One page (at most 1,000) of an obligation's complete funding payments. */
  getObligationFundingPayments(
    obligationId: string,
    page: PageRequest = {},
  ): Promise<KlearResponse<KlearAnswerData<'obligationFundingPayments'>>> {
    return this.read('obligationFundingPayments', pageParams(page), { obligation_id: obligationId });
  }

  /**
   * Every page of one of an obligation's detail lists (1,000 rows a page unless told), first to last,
   * **pipelined**: page N+1 is asked for as soon as page N's cursor is read from its body, before page
   * N is interpreted and handed over, so the next request waits only for the rate limiter, never for
   * the interpretation of the page before nor for what the caller does with it (archiving, storing)
   * while this generator is suspended. At most one request is ahead. Each page is checked against the
   * contract as any answer is (its cursor too: the one followed must be the one interpreted). A page
   * spooled past the buffer cap is parsed from disk before the next is asked for.
   */
  async *walkObligationDetails<L extends ObligationDetailList>(
    obligationId: string,
    list: L,
    page: { limit?: number; cursor?: string } = {},
  ): AsyncGenerator<KlearResponse<KlearAnswerData<(typeof DETAIL_LIST_ENDPOINTS)[L]>>> {
    const name: DetailListEndpoint = DETAIL_LIST_ENDPOINTS[list];
    const pathParams = { obligation_id: obligationId };
    const ask = (cursor: string | undefined) => {
      const params = pageParams({ limit: page.limit ?? 1_000, cursor });
      const call = this.callFor(name, params, undefined, pathParams);
      const answer = this.pipeline.sendIdempotent(call);
      // Awaited on the next turn; a failure meanwhile must not be an unhandled rejection.
      answer.catch(() => undefined);
      return { call, params, answer };
    };
    let next: ReturnType<typeof ask> | undefined = ask(page.cursor);
    try {
      while (next) {
        const { call, params, answer } = next;
        const exchange = await answer;
        next = undefined;
        let response: KlearResponse<KlearAnswerData<typeof name>>;
        if (exchange.spooledBody !== undefined) {
          // A page past the buffer cap is parsed from disk first: its cursor comes from there (no read-ahead).
          response = await this.interpretSpooled(name, call, { ...pathParams, ...params }, exchange, exchange.spooledBody);
          const cursor = response.data.cursor || undefined;
          if (cursor !== undefined) next = ask(cursor);
        } else {
          const cursor = peekCursor(exchange.body);
          if (cursor !== undefined) next = ask(cursor);
          response = this.interpret(name, call, { ...pathParams, ...params }, exchange);
          if ((response.data.cursor || undefined) !== cursor) {
            throw new KlearSchemaError(
              call.endpoint,
              exchange.status,
              [{ path: 'cursor', message: 'the cursor read ahead is not the one interpreted' }],
              response.raw.body,
            );
          }
        }
        yield response as KlearResponse<KlearAnswerData<(typeof DETAIL_LIST_ENDPOINTS)[L]>>;
      }
    } finally {
      // The walk stopped early (a failure, or its reader stopped): a page read ahead is not kept.
      void next?.answer.then((exchange) => exchange.spooledBody?.close()).catch(() => undefined);
    }
  }

  /** Mark prices of an asset class's markets at one settlement time (empty when none ran then). */
  getSettlementPrices(assetClass: string, settlementTime: string): Promise<KlearResponse<KlearAnswerData<'settlementPrices'>>> {
    return this.read('settlementPrices', { asset_class: assetClass, settlement_time: settlementTime });
  }

  /** The member's funding payments at one funding time (limit at most 10,000). */
  getMemberFundingPayments(
    fundingTime: string,
    page: PageRequest & { marketTicker?: string } = {},
  ): Promise<KlearResponse<KlearAnswerData<'memberFundingPayments'>>> {
    const params = { funding_time: fundingTime, ...pageParams(page) };
    return this.read('memberFundingPayments', page.marketTicker === undefined ? params : { ...params, market_ticker: page.marketTicker });
  }

  getSubtraderGroups(): Promise<KlearResponse<KlearAnswerData<'subtraderGroups'>>> {
    return this.read('subtraderGroups', {});
  }

  /** Creates a netted subtrader group. A write: sent once, never retried. */
  createSubtraderGroup(subtraderIds: string[]): Promise<KlearResponse<KlearAnswerData<'createSubtraderGroup'>>> {
    return this.writeOnce('createSubtraderGroup', { subtrader_ids: groupMembers(subtraderIds) });
  }

  /** Replaces a group's membership. A write: sent once, never retried. */
  updateSubtraderGroup(groupId: string, subtraderIds: string[]): Promise<KlearResponse<KlearAnswerData<'updateSubtraderGroup'>>> {
    return this.writeOnce('updateSubtraderGroup', { subtrader_ids: groupMembers(subtraderIds) }, { group_id: groupId });
  }

  deleteSubtraderGroup(groupId: string): Promise<KlearResponse<KlearAnswerData<'deleteSubtraderGroup'>>> {
    return this.writeOnce('deleteSubtraderGroup', undefined, { group_id: groupId });
  }

  /**
   * A what-if maintenance margin. Without side effects, but a POST: sent once unless the caller
   * explicitly allows retries (`{ retry: true }`), then retried like a read.
   */
  async estimateMaintenanceMargin(
    request: EstimateMaintenanceMarginRequest,
    options: { retry?: boolean } = {},
  ): Promise<KlearResponse<KlearAnswerData<'estimateMaintenanceMargin'>>> {
    if (request.positions.some((p) => p.quantity === 0n)) throw new RangeError('a position quantity must not be zero');
    const body = stringifyKlearJson(request);
    const call = this.callFor('estimateMaintenanceMargin', {}, body);
    const answer = options.retry === true ? await this.pipeline.sendIdempotent(call) : await this.pipeline.sendOnce(call);
    return this.interpret('estimateMaintenanceMargin', call, { asset_class: request.asset_class }, answer);
  }

  getSettlementEstimateByAssetClass(): Promise<KlearResponse<KlearAnswerData<'settlementEstimateByAssetClass'>>> {
    return this.read('settlementEstimateByAssetClass', {});
  }

  getSettlementBalance(): Promise<KlearResponse<KlearAnswerData<'settlementBalance'>>> {
    return this.read('settlementBalance', {});
  }

  getSettlementBalanceHistory(page: PageRequest = {}): Promise<KlearResponse<KlearAnswerData<'settlementBalanceHistory'>>> {
    return this.read('settlementBalanceHistory', pageParams(page));
  }

  async getWithdrawal(id: string): Promise<KlearResponse<WithdrawalWithCenticents>> {
    const answer = await this.read('settlementBalanceWithdrawal', { id });
    try {
      return { data: { ...answer.data, amount_centicents: usdAmountToCenticents(answer.data.amount) }, raw: answer.raw };
    } catch (error) {
      await answer.raw.spooledBody?.close();
      throw error;
    }
  }

  getGuarantyFundBalance(): Promise<KlearResponse<KlearAnswerData<'guarantyFundBalance'>>> {
    return this.read('guarantyFundBalance', {});
  }

  getLargeTraderPositions(reportDate?: string): Promise<KlearResponse<KlearAnswerData<'largeTraderPositions'>>> {
    return this.read('largeTraderPositions', reportDate === undefined ? {} : { report_date: reportDate });
  }

  /**
   * Asks Klear to wire `amountCenticents` (whole cents) out of the settlement buffer. Sent exactly
   * once: Klear has no idempotency key, so a timeout, a reset after sending, a 5xx or an unreadable
   * 2xx answer throws KlearOutcomeUnknownError and the caller must find out before trying again.
   * Every wait (login, rate limit: at most `guard.maxWaitMs`) happens before `guard.beforeSend`;
   * once that has run the POST leaves at once (SendGuard). A wait longer than accepted, or a
   * refusing `beforeSend`, throws KlearWriteNotSentError: nothing was sent.
   */
  async withdrawSettlementBalance(
    amountCenticents: bigint,
    guard?: SendGuard,
  ): Promise<KlearResponse<KlearAnswerData<'withdrawSettlementBalance'>>> {
    if (amountCenticents <= 0n) throw new RangeError('a withdrawal amount must be positive');
    const amount = centicentsToUsdAmount(amountCenticents);
    const params = { amount };
    const call = this.callFor('withdrawSettlementBalance', {}, stringifyKlearJson(params));
    let answer: KlearExchange;
    try {
      answer = await this.pipeline.sendGuarded(call, guard ?? { maxWaitMs: this.maxWriteWaitMs, beforeSend: async () => undefined });
    } catch (error) {
      throw outcomeOf(call.endpoint, amount, error);
    }
    try {
      return this.interpret('withdrawSettlementBalance', call, params, answer);
    } catch (error) {
      throw new KlearOutcomeUnknownError(call.endpoint, 'unreadable_answer', `${amount} USD, answer ${answer.status} not readable`, {
        cause: error,
      });
    }
  }

  /**
   * Downloads a report file from its presigned URL into memory, at most KLEAR_REPORT_MAX_BYTES: no
   * Klear credentials are sent to it, it does not count against the API rate limit, and it must
   * point at an allowed host (reportUrl). Errors and `raw.endpoint` name only the URL's path.
   */
  async downloadReport(url: string): Promise<KlearResponse<DownloadedReport, Buffer>> {
    const call = this.reportCall(url);
    const answer = await this.pipeline.sendIdempotent(call);
    return {
      data: { bytes: answer.body, sha256: answer.sha256, size: answer.size },
      raw: {
        body: answer.body,
        status: answer.status,
        endpoint: call.endpoint,
        params: {},
        receivedAt: answer.receivedAt,
        sha256: answer.sha256,
      },
    };
  }

  /**
   * Streams a report file into the sink `open` gives (a file), never holding it in memory, and
   * stops past KLEAR_REPORT_MAX_BYTES; a failed attempt discards its sink before a retry.
   */
  async downloadReportTo(url: string, open: () => Promise<KlearBodySink>): Promise<{ size: number; sha256: string; receivedAt: Date }> {
    const answer = await this.pipeline.sendIdempotent({ ...this.reportCall(url), openSink: open });
    return { size: answer.size, sha256: answer.sha256, receivedAt: answer.receivedAt };
  }

  /**
   * The call for a presigned report URL, refused unless it points at KLEAR_BASE_URL's host or one of
   * KLEAR_REPORT_HOSTS, over https (plain http only when KLEAR_BASE_URL itself is http: the
   * simulator). A URL elsewhere could make the worker fetch from, or probe, any host.
   */
  private reportCall(url: string): KlearCall {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      // The TypeError of URL keeps the input (a signed URL) on a property: do not pass it on.
      throw new RangeError('a report URL is not a valid URL');
    }
    const base = new URL(this.baseUrl);
    if (target.protocol !== 'https:' && !(target.protocol === 'http:' && base.protocol === 'http:'))
      throw new RangeError('a report URL must be https');
    const allowed = new Set([base.hostname.toLowerCase(), ...(this.options.reportHosts ?? []).map((h) => h.toLowerCase())]);
    if (!allowed.has(target.hostname.toLowerCase()))
      throw new RangeError(`a report URL must point at an allowed host (KLEAR_REPORT_HOSTS), not ${target.hostname}`);
    return {
      kind: undefined,
      method: 'GET',
      url: target.toString(),
      endpoint: `GET ${target.pathname}`,
      authenticated: false,
      maxBodyBytes: this.options.reportMaxBytes ?? DEFAULT_REPORT_MAX_BYTES,
    };
  }

  private async read<N extends KlearEndpointName>(
    name: N,
    params: Record<string, string>,
    pathParams: Record<string, string> = {},
  ): Promise<KlearResponse<KlearAnswerData<N>>> {
    const call = this.callFor(name, params, undefined, pathParams);
    const answer = await this.pipeline.sendIdempotent(call);
    if (answer.spooledBody !== undefined)
      return this.interpretSpooled(name, call, { ...pathParams, ...params }, answer, answer.spooledBody);
    return this.interpret(name, call, { ...pathParams, ...params }, answer);
  }

  /**
   * A body spooled past the buffer cap, parsed as a stream: the envelope first, then each list item
   * validated as it is read, in its envelope (so the contract checks it as in a whole body). Memory:
   * one item at a time besides the items kept. The body stays open for the archive (closed on failure,
   * except after a contract error, whose body is archived from it: `KlearSchemaError.rawSpooledBody`).
   */
  private async interpretSpooled<N extends KlearEndpointName>(
    name: N,
    call: KlearCall,
    params: Record<string, string>,
    answer: KlearExchange,
    file: SpooledBody,
  ): Promise<KlearResponse<KlearAnswerData<N>>> {
    const raw = {
      body: '',
      spooledBody: file,
      size: answer.size,
      status: answer.status,
      endpoint: call.endpoint,
      params,
      receivedAt: answer.receivedAt,
      sha256: answer.sha256,
    };
    try {
      const envelope = await scanSpooledObject(file);
      const base = parseKlearAnswerWithUnmapped(name, envelope.text, answer.status);
      const list = envelope.list;
      if (list === undefined) return { data: base.data, raw, unmapped: base.unmapped };
      const unmapped = new Set(base.unmapped);
      const items: unknown[] = [];
      const itemBodies = new Map<number, string>();
      await scanSpooledObject(file, (text, index) => {
        const alone = `${envelope.text.slice(0, list.at + 1)}${text}${envelope.text.slice(list.at + 1)}`;
        let parsed: ReturnType<typeof parseKlearAnswerWithUnmapped<N>>;
        try {
          parsed = parseKlearAnswerWithUnmapped(name, alone, answer.status);
        } catch (error) {
          if (!(error instanceof KlearSchemaError)) throw error;
          const issues = error.issues.map((issue) => ({ ...issue, path: issue.path.replace(`${list.key}[0]`, `${list.key}[${index}]`) }));
          throw new KlearSchemaError(error.endpoint, error.status, issues, alone);
        }
        items.push((parsed.data as Record<string, unknown[]>)[list.key][0]);
        if (parsed.unmapped.some((path) => path.startsWith(`${list.key}[]`))) itemBodies.set(index, alone);
        for (const path of parsed.unmapped) unmapped.add(path);
      });
      const data = { ...(base.data as object), [list.key]: items } as KlearAnswerData<N>;
      return { data, raw, unmapped: [...unmapped].sort(), ...(itemBodies.size > 0 ? { itemBodies } : {}) };
    } catch (error) {
      // A body cut short or unbalanced breaks the contract as a body in memory that is not JSON does:
      // archived from disk by the caller, not lost with a bare parse failure.
      const failure = error instanceof SpooledJsonError ? notJsonError(call.endpoint, answer.status, error, '') : error;
      if (failure instanceof KlearSchemaError) {
        Object.defineProperty(failure, 'rawSpooledBody', { value: file, enumerable: false });
        Object.defineProperty(failure, 'rawBodySha256', { value: answer.sha256, enumerable: false });
      } else await file.close();
      throw failure;
    }
  }

  private async writeOnce<N extends KlearEndpointName>(
    name: N,
    body: object | undefined,
    pathParams: Record<string, string> = {},
  ): Promise<KlearResponse<KlearAnswerData<N>>> {
    const call = this.callFor(name, {}, body === undefined ? undefined : stringifyKlearJson(body), pathParams);
    const answer = await this.pipeline.sendOnce(call);
    return this.interpret(name, call, pathParams, answer);
  }

  private callFor(
    name: KlearEndpointName,
    query: Record<string, string>,
    body?: string,
    pathParams: Record<string, string> = {},
  ): KlearCall {
    const { method, path, kind } = ENDPOINTS[name];
    const search = new URLSearchParams(query).toString();
    return {
      kind,
      method,
      url: `${this.baseUrl}${endpointPath(name, pathParams)}${search ? `?${search}` : ''}`,
      // Logs and errors name the path template, never an id in it.
      endpoint: `${method} ${path}`,
      body,
      authenticated: true,
    };
  }

  private interpret<N extends KlearEndpointName>(
    name: N,
    call: KlearCall,
    params: Record<string, string>,
    answer: KlearExchange,
  ): KlearResponse<KlearAnswerData<N>> {
    const body = answer.body.toString('utf8');
    const raw = {
      body,
      size: answer.size,
      status: answer.status,
      endpoint: call.endpoint,
      params,
      receivedAt: answer.receivedAt,
      sha256: sha256Hex(answer.body),
    };
    const { data, unmapped } = parseKlearAnswerWithUnmapped(name, body, answer.status);
    return { data, raw, unmapped };
  }
}

/**
 * A page's next cursor, read from its body before the page is interpreted (native JSON.parse: only
 * the top-level `cursor` string is used, so no number's precision matters); undefined for the last
 * page (no cursor, `""` or `null`) or a body that is not a JSON object (interpretation will say why).
 */
function peekCursor(body: Buffer): string | undefined {
  try {
    const cursor = (JSON.parse(body.toString('utf8')) as { cursor?: unknown } | null)?.cursor;
    return typeof cursor === 'string' && cursor !== '' ? cursor : undefined;
  } catch {
    return undefined;
  }
}

function groupMembers(ids: string[]): string[] {
  if (ids.length === 0 || ids.some((id) => id === '')) throw new RangeError('a subtrader group needs at least one subtrader id');
  return ids;
}

function pageParams(page: PageRequest): Record<string, string> {
  const params: Record<string, string> = {};
  if (page.limit !== undefined) {
    if (!Number.isInteger(page.limit) || page.limit < 1) throw new RangeError('limit must be a positive integer');
    params.limit = String(page.limit);
  }
  if (page.cursor !== undefined) params.cursor = page.cursor;
  return params;
}

/** What a failed withdrawal POST means: not sent, refused, or unknown. */
function outcomeOf(endpoint: string, amount: string, error: unknown): unknown {
  // A failure of another call (the session login) means the POST itself never left.
  if (!(error instanceof KlearClientError) || error.endpoint !== endpoint) return error;
  if (error instanceof KlearTimeoutError) {
    return new KlearOutcomeUnknownError(endpoint, 'timeout', `${amount} USD, no answer within ${error.timeoutMs} ms`, { cause: error });
  }
  if (error instanceof KlearNetworkError && error.requestSent) {
    return new KlearOutcomeUnknownError(endpoint, 'network', `${amount} USD, connection failed (${error.networkCode})`, { cause: error });
  }
  if (error instanceof KlearHttpError && error.status >= 500) {
    return new KlearOutcomeUnknownError(endpoint, 'server_error', `${amount} USD, answered ${error.status}`, { cause: error });
  }
  return error;
}
