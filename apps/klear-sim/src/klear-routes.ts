import type { IncomingMessage } from 'node:http';
import type { KlearEndpointName } from '@app/klear-contract';
import { centicentsToUsdAmount, estimateMaintenanceMarginRequestSchema, parseKlearJson, usdAmountToCenticents } from '@app/klear-contract';
import { etDate, etDayStart } from './schedule';
import { balanceEvents, bufferBalance } from './buffer';
import { formatTimestamp } from './clock';
import { settlementEstimateByAssetClass } from './estimate';
import type { FaultDecision } from './faults';
import type { SimResponse } from './http-io';
import { BadRequest, jsonResponse } from './http-io';
import { type DetailList, decodeSlotCursor, detailPageChunks, obligationPageChunks, quirk } from './obligation-json';
import { guarantyFundBalance, largeTraderPositions } from './positions';
import { listMarginReports } from './reports';
import { encodeSlotCursor } from './obligation-json';
import { dateTimeCursor, decodeEventCursor, encodeEventCursor, optionalDate, pageLimit, requiredDate } from './request-params';
import type { SimulatorContext } from './simulator-context';
import { systemClock } from '@app/clock';

const MAX_REPORT_RANGE_DAYS = 366;

export interface KlearRequest {
  req: IncomingMessage;
  query: URLSearchParams;
  pathParams: Record<string, string>;
  body: string;
  faults: FaultDecision;
}

type Handler = (ctx: SimulatorContext, request: KlearRequest) => SimResponse;

function marginReports(ctx: SimulatorContext, { req, query }: KlearRequest): SimResponse {
  const start = requiredDate(query, 'start_date');
  const end = requiredDate(query, 'end_date');
  if (start > end) throw new BadRequest('invalid_parameter', 'start_date must not be after end_date');
  if ((etDayStart(end) - etDayStart(start)) / 86_400_000 > MAX_REPORT_RANGE_DAYS) {
    throw new BadRequest('invalid_parameter', `the date range must not exceed ${MAX_REPORT_RANGE_DAYS} days`);
  }
  const origin = ctx.state.options.filesBaseUrl || `http://${req.headers.host ?? 'localhost'}`;
  return jsonResponse(200, { reports: listMarginReports(ctx.state, start, end, origin, ctx.state.now()) });
}

/** Every active obligation: one per asset class between its cycle and its payment (none: an empty list, or null). */
function activeObligations(ctx: SimulatorContext): SimResponse {
  const now = ctx.state.now();
  const cycle = ctx.state.activeObligationCycle(now);
  if (cycle === undefined) return jsonResponse(200, { obligations: quirk(ctx.state, ctx.state.lastSettledCycle(now), 4) ? null : [] });
  return { status: 200, body: obligationPageChunks(ctx.state, ctx.state.obligations(cycle, now), undefined) };
}

function obligationHistory(ctx: SimulatorContext, { query, faults }: KlearRequest): SimResponse {
  const limit = pageLimit(query, 20, 100);
  const rawCursor = query.get('cursor');
  const cursorMs = rawCursor === null ? undefined : dateTimeCursor(rawCursor);
  if (ctx.state.options.obligationPaging !== 'cycles') return obligationHistoryByObligation(ctx, limit, cursorMs, faults);
  const now = ctx.state.now();
  const last = ctx.state.lastSettledCycle(now);
  const newest = cursorMs === undefined ? last : Math.min(last, ctx.state.schedule.lastIndexAtOrBefore(cursorMs - 1));
  const cycles: number[] = [];
  for (let cycle = newest; cycle >= 0 && cycles.length < limit; cycle--) cycles.push(cycle);
  const oldest = cycles.at(-1);
  const cursor = oldest !== undefined && oldest > 0 ? formatTimestamp(ctx.state.schedule.timeOf(oldest)) : undefined;
  const previousPageLast = newest + 1;
  if (cursorMs !== undefined && previousPageLast <= last) {
    if (faults.paging.has('obligation_changed')) {
      ctx.state.injectObligationChange(previousPageLast, ctx.state.injectedAdjustments.length + 1);
    }
    if (faults.paging.has('duplicate_items')) cycles.unshift(previousPageLast);
  } else if (faults.paging.has('duplicate_items') && cycles.length > 0) {
    cycles.push(cycles[0]);
  }
  if (faults.paging.has('reorder_items')) cycles.reverse();
  // One obligation per asset class and cycle; a page holds `limit` cycles' obligations.
  return {
    status: 200,
    body: obligationPageChunks(
      ctx.state,
      cycles.flatMap((cycle) => ctx.state.obligations(cycle, now)),
      cursor,
    ),
  };
}

/**
 * `--obligation-paging strict | inclusive`: a page holds `limit` obligations (a cycle's asset classes
 * may be split by the page boundary); the cursor is the execution time of the page's last one, and the
 * next page starts strictly before it or at it (re-serving the tied obligations already sent).
 */
function obligationHistoryByObligation(
  ctx: SimulatorContext,
  limit: number,
  cursorMs: number | undefined,
  faults: FaultDecision,
): SimResponse {
  const now = ctx.state.now();
  const last = ctx.state.lastSettledCycle(now);
  const inclusive = ctx.state.options.obligationPaging === 'inclusive';
  const newest =
    cursorMs === undefined ? last : Math.min(last, ctx.state.schedule.lastIndexAtOrBefore(inclusive ? cursorMs : cursorMs - 1));
  const views = [];
  let cycle = newest;
  for (; cycle >= 0 && views.length <= limit; cycle--) views.push(...ctx.state.obligations(cycle, now));
  const page = views.slice(0, limit);
  const more = views.length > limit || cycle >= 0;
  const cursor = more && page.length > 0 ? formatTimestamp(ctx.state.schedule.timeOf(page[page.length - 1].cycle)) : undefined;
  if (cursorMs !== undefined && newest + 1 <= last && faults.paging.has('obligation_changed')) {
    ctx.state.injectObligationChange(newest + 1, ctx.state.injectedAdjustments.length + 1);
  }
  if (faults.paging.has('duplicate_items') && page.length > 0) page.push(page[0]);
  if (faults.paging.has('reorder_items')) page.reverse();
  return { status: 200, body: obligationPageChunks(ctx.state, page, cursor) };
}

/**
 * The obligation with this id (any asset class): a settled one, or the open cycle's while it is active
 * (`activeObligations: 'open_cycle'`); else a 404 as Klear answers an unknown id.
 */
function obligationById(ctx: SimulatorContext, id: string) {
  const now = ctx.state.now();
  const match = /^obl-[0-9]{8}-[0-9a-f]{8}/.exec(id);
  if (match !== null) {
    const newest = Math.max(ctx.state.lastSettledCycle(now), ctx.state.activeObligationCycle(now) ?? -1);
    for (let cycle = newest; cycle >= 0; cycle--) {
      const executionId = ctx.state.world.obligationId(cycle, etDate(ctx.state.schedule.timeOf(cycle)));
      if (executionId !== match[0]) continue;
      const view = ctx.state.obligations(cycle, now).find((candidate) => candidate.id === id);
      if (view !== undefined) return view;
      break;
    }
  }
  throw new BadRequest('not_found', 'no obligation with that id', 404);
}

function obligationDetails(list: DetailList): Handler {
  return (ctx, { query, pathParams }) => {
    const view = obligationById(ctx, pathParams.obligation_id);
    const limit = pageLimit(query, 1_000, 1_000);
    const rawCursor = query.get('cursor');
    const start = rawCursor === null || rawCursor === '' ? 0 : decodeSlotCursor(rawCursor);
    if (start === undefined) throw new BadRequest('invalid_parameter', 'cursor is malformed');
    return { status: 200, body: detailPageChunks(ctx.state, view, list, start, limit) };
  };
}

/** Mark prices of an asset class's markets at one settlement time (empty when none ran then). */
function settlementPrices(ctx: SimulatorContext, { query }: KlearRequest): SimResponse {
  const assetClass = query.get('asset_class');
  if (assetClass === null || assetClass === '') throw new BadRequest('invalid_parameter', 'asset_class is required');
  const rawTime = query.get('settlement_time');
  if (rawTime === null) throw new BadRequest('invalid_parameter', 'settlement_time is required');
  const atMs = dateTimeCursor(rawTime);
  const { state } = ctx;
  const classIndex = state.world.assetClasses.indexOf(assetClass);
  const cycle = state.schedule.lastIndexAtOrBefore(atMs);
  const prices: Record<string, number> = {};
  if (classIndex >= 0 && cycle >= 0 && cycle <= state.lastSettledCycle() && state.schedule.timeOf(cycle) === atMs) {
    const cyclePrices = state.world.prices(cycle);
    for (const m of state.world.marketsOfClass[classIndex]) prices[state.world.tickers[m]] = cyclePrices[m];
  }
  return jsonResponse(200, { settlement_prices: prices });
}

/** The member's funding payments at one funding time (every subtrader and market), paged by slot. */
function memberFundingPayments(ctx: SimulatorContext, { query }: KlearRequest): SimResponse {
  const rawTime = query.get('funding_time');
  if (rawTime === null) throw new BadRequest('invalid_parameter', 'funding_time is required');
  const atMs = dateTimeCursor(rawTime);
  const limit = pageLimit(query, 1_000, 10_000);
  const ticker = query.get('market_ticker');
  const rawCursor = query.get('cursor');
  const start = rawCursor === null || rawCursor === '' ? 0 : decodeSlotCursor(rawCursor);
  if (start === undefined) throw new BadRequest('invalid_parameter', 'cursor is malformed');
  const { state } = ctx;
  const { world } = state;
  const now = state.now();
  // The funding time belongs to the cycle that closes at or after it.
  const cycle = state.schedule.lastIndexAtOrBefore(atMs - 1) + 1;
  const k =
    cycle >= 0 && cycle <= state.lastSettledCycle(now)
      ? world.fundingTimes(state.schedule.timeOf(cycle - 1), state.schedule.timeOf(cycle)).indexOf(atMs)
      : -1;
  const payments: unknown[] = [];
  let next: number | undefined;
  if (k >= 0) {
    const previousPrices = world.prices(cycle - 1);
    const total = world.subtraderCount * world.marketCount;
    for (let slot = start; slot < total; slot++) {
      const s = Math.floor(slot / world.marketCount);
      const m = slot % world.marketCount;
      if (ticker !== null && world.tickers[m] !== ticker) continue;
      const cell = world.fundingCell(s, m, cycle, k, previousPrices);
      if (cell.position === 0) continue;
      if (payments.length === limit) {
        next = slot;
        break;
      }
      payments.push({
        market_ticker: world.tickers[m],
        subtrader_id: world.subtraderIds[s],
        funding_time: formatTimestamp(atMs),
        position_quantity_fp: `${cell.position}.00`,
        notional_value_centicents: BigInt(cell.notional),
        funding_amount_centicents: BigInt(cell.amount),
      });
    }
  }
  return jsonResponse(200, {
    payments: payments.length === 0 && quirk(state, cycle, 5) ? null : payments,
    cursor: next === undefined ? undefined : encodeSlotCursor(next),
  });
}

function subtraderGroups(ctx: SimulatorContext): SimResponse {
  return jsonResponse(200, { groups: ctx.state.groupList() });
}

function groupIds(body: string): string[] {
  let parsed: unknown;
  try {
    parsed = parseKlearJson(body);
  } catch {
    throw new BadRequest('invalid_parameter', 'body must be JSON');
  }
  const ids = (parsed as { subtrader_ids?: unknown } | null)?.subtrader_ids;
  if (!Array.isArray(ids) || ids.length === 0 || ids.some((id) => typeof id !== 'string' || id === '')) {
    throw new BadRequest('invalid_parameter', 'subtrader_ids must be a non-empty list of subtrader ids');
  }
  return ids as string[];
}

/** A refused group change answers 400 (unknown or already grouped subtrader) or 404 (unknown group). */
function groupChange<T>(change: () => T): T {
  try {
    return change();
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new BadRequest(
      error.message.startsWith('unknown group') ? 'not_found' : 'invalid_parameter',
      error.message,
      error.message.startsWith('unknown group') ? 404 : 400,
    );
  }
}

function createSubtraderGroup(ctx: SimulatorContext, { body }: KlearRequest): SimResponse {
  const members = groupIds(body);
  return jsonResponse(200, { group_id: groupChange(() => ctx.state.createGroup(members)) });
}

function updateSubtraderGroup(ctx: SimulatorContext, { body, pathParams }: KlearRequest): SimResponse {
  const members = groupIds(body);
  groupChange(() => ctx.state.updateGroup(pathParams.group_id, members));
  return jsonResponse(200, {});
}

function deleteSubtraderGroup(ctx: SimulatorContext, { pathParams }: KlearRequest): SimResponse {
  groupChange(() => ctx.state.deleteGroup(pathParams.group_id));
  return jsonResponse(200, {});
}

/**
 * A what-if maintenance margin of a portfolio: |quantity| times the market's margin rate, as a USD
 * fixed-point string. No side effects.
 */
function estimateMaintenanceMargin(ctx: SimulatorContext, { body }: KlearRequest): SimResponse {
  let parsed: unknown;
  try {
    parsed = parseKlearJson(body);
  } catch {
    throw new BadRequest('invalid_parameter', 'body must be JSON');
  }
  const request = estimateMaintenanceMarginRequestSchema.safeParse(parsed);
  if (!request.success)
    throw new BadRequest('invalid_parameter', 'asset_class and positions[{ market_ticker, quantity, price }] are required');
  const { world } = ctx.state;
  let margin = 0n;
  for (const position of request.data.positions) {
    const m = world.tickers.indexOf(position.market_ticker);
    if (m < 0 || world.assetClassOfMarket[m] !== request.data.asset_class)
      throw new BadRequest('invalid_parameter', `unknown market ${position.market_ticker} in ${request.data.asset_class}`);
    const quantity = position.quantity < 0n ? -position.quantity : position.quantity;
    margin += BigInt(world.positionMargin(m, 1)) * quantity;
  }
  const whole = margin / 10_000n;
  const fraction = String(margin % 10_000n).padStart(4, '0');
  return jsonResponse(200, { maintenance_margin_fp: `${whole}.${fraction}` });
}

function settlementBalance(ctx: SimulatorContext): SimResponse {
  const { available, locked } = bufferBalance(ctx.state);
  return jsonResponse(200, {
    user_id: ctx.state.options.adminUserId,
    balance_available_centicents: available,
    locked_balance_centicents: locked,
  });
}

function settlementBalanceHistory(ctx: SimulatorContext, { query, faults }: KlearRequest): SimResponse {
  const limit = pageLimit(query, 100, 500);
  const rawCursor = query.get('cursor');
  const cursorKey = rawCursor === null ? undefined : decodeEventCursor(rawCursor);
  const events = balanceEvents(ctx.state).reverse(); // most recent first
  const start = cursorKey === undefined ? 0 : events.findIndex((event) => event.sortKey < cursorKey);
  const page = start < 0 ? [] : events.slice(start, start + limit);
  const more = start >= 0 && start + limit < events.length;
  const cursor = more ? encodeEventCursor(page[page.length - 1].sortKey) : undefined;
  if (faults.paging.has('duplicate_items')) {
    if (cursorKey !== undefined && start > 0) page.unshift(events[start - 1]);
    else if (page.length > 0) page.push(page[0]);
  }
  if (faults.paging.has('reorder_items')) page.reverse();
  return jsonResponse(200, {
    entries: page.map((event) => ({
      balance_delta_centicents: event.balanceDelta,
      locked_balance_delta_centicents: event.lockedDelta,
      reason: event.reason,
      business_transaction_id: event.businessTransactionId,
      created_ts: formatTimestamp(event.atMs),
    })),
    cursor,
  });
}

function withdrawSettlementBalance(ctx: SimulatorContext, { body }: KlearRequest): SimResponse {
  const received = { received_at: systemClock.now().toISOString(), simulated_at: formatTimestamp(ctx.state.now()) };
  let amountText: unknown;
  try {
    amountText = (parseKlearJson(body) as { amount?: unknown } | null)?.amount;
  } catch {
    amountText = undefined;
  }
  const post = {
    ...received,
    amount: typeof amountText === 'string' ? amountText : String(amountText),
    outcome: 'rejected',
    id: undefined as string | undefined,
  };
  ctx.counters.withdrawalPosts.push(post);
  if (typeof amountText !== 'string') throw new BadRequest('invalid_parameter', 'amount must be a USD string such as "500.00"');
  let amount: bigint;
  try {
    amount = usdAmountToCenticents(amountText);
  } catch (error) {
    throw new BadRequest('invalid_parameter', (error as Error).message);
  }
  const { available } = bufferBalance(ctx.state);
  if (amount > available) throw new BadRequest('insufficient_balance', 'amount exceeds the available settlement balance');
  const withdrawal = ctx.state.addWithdrawal(amount);
  post.outcome = 'created';
  post.id = withdrawal.id;
  return jsonResponse(200, { id: withdrawal.id });
}

function settlementBalanceWithdrawal(ctx: SimulatorContext, { query }: KlearRequest): SimResponse {
  const id = query.get('id');
  if (id === null || id === '') throw new BadRequest('invalid_parameter', 'id is required');
  const withdrawal = ctx.state.withdrawalsById.get(id);
  if (withdrawal === undefined) throw new BadRequest('invalid_parameter', 'unknown withdrawal id');
  return jsonResponse(200, {
    id: withdrawal.id,
    amount: centicentsToUsdAmount(withdrawal.amount),
    status: ctx.state.withdrawalStatus(withdrawal),
    created_ts: formatTimestamp(withdrawal.createdMs),
  });
}

export const KLEAR_HANDLERS: Record<Exclude<KlearEndpointName, 'logIn'>, Handler> = {
  marginReports,
  activeObligations,
  obligationHistory,
  obligationSettlementDetails: obligationDetails('settlement_details'),
  obligationMaintenanceMarginDetails: obligationDetails('maintenance_margin_details'),
  obligationFundingPayments: obligationDetails('funding_payments'),
  settlementPrices,
  memberFundingPayments,
  subtraderGroups,
  createSubtraderGroup,
  updateSubtraderGroup,
  deleteSubtraderGroup,
  estimateMaintenanceMargin,
  settlementEstimateByAssetClass: (ctx) =>
    jsonResponse(200, settlementEstimateByAssetClass(ctx.state, ctx.state.now(), bufferBalance(ctx.state).available)),
  settlementBalance,
  settlementBalanceHistory,
  withdrawSettlementBalance,
  settlementBalanceWithdrawal,
  guarantyFundBalance: (ctx) => jsonResponse(200, guarantyFundBalance(ctx.state, ctx.state.now())),
  largeTraderPositions: (ctx, { query }) =>
    jsonResponse(200, largeTraderPositions(ctx.state, optionalDate(query, 'report_date'), ctx.state.now())),
};
