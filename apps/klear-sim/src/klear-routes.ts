import type { IncomingMessage } from 'node:http';
import type { KlearEndpointName } from '@app/klear-contract';
import { centicentsToUsdAmount, parseKlearJson, usdAmountToCenticents } from '@app/klear-contract';
import { etDayStart } from './schedule';
import { balanceEvents, bufferBalance } from './buffer';
import { formatTimestamp } from './clock';
import { settlementEstimate, settlementEstimateByAssetClass } from './estimate';
import type { FaultDecision } from './faults';
import type { SimResponse } from './http-io';
import { BadRequest, jsonResponse } from './http-io';
import { obligationEntryChunks, obligationPageChunks } from './obligation-json';
import { guarantyFundBalance, largeTraderPositions } from './positions';
import { listMarginReports } from './reports';
import {
  dateTimeCursor,
  decodeEventCursor,
  encodeEventCursor,
  optionalDate,
  pageLimit,
  requiredDate,
} from './request-params';
import type { SimulatorContext } from './simulator-context';
import { systemClock } from '@app/clock';

const MAX_REPORT_RANGE_DAYS = 366;

export interface KlearRequest {
  req: IncomingMessage;
  query: URLSearchParams;
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

function activeObligation(ctx: SimulatorContext): SimResponse {
  const now = ctx.state.now();
  const cycle = ctx.state.activeObligationCycle(now);
  if (cycle === undefined) return jsonResponse(200, { obligation: null });
  const view = ctx.state.obligation(cycle, now);
  return { status: 200, body: (function* () {
    yield '{"obligation":';
    yield* obligationEntryChunks(ctx.state, view);
    yield '}';
  })() };
}

function obligationHistory(ctx: SimulatorContext, { query, faults }: KlearRequest): SimResponse {
  const limit = pageLimit(query, 20, 100);
  const rawCursor = query.get('cursor');
  const cursorMs = rawCursor === null ? undefined : dateTimeCursor(rawCursor);
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
  return { status: 200, body: obligationPageChunks(ctx.state, cycles, cursor, ctx.state.now()) };
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
  const post = { ...received, amount: typeof amountText === 'string' ? amountText : String(amountText), outcome: 'rejected', id: undefined as string | undefined };
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
  activeObligation,
  obligationHistory,
  settlementEstimate: (ctx) => jsonResponse(200, settlementEstimate(ctx.state, ctx.state.now(), bufferBalance(ctx.state).available)),
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
