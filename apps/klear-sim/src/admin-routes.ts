import type { IncomingMessage } from 'node:http';
import { parseKlearJson } from '@app/klear-contract';
import { z } from 'zod';
import { bufferBalance } from './buffer';
import { formatTimestamp } from './clock';
import { faultConfigSchema } from './faults';
import { applyKlearErrors, klearErrorsRequestSchema } from './klear-errors';
import type { SimResponse } from './http-io';
import { BadRequest, errorResponse, jsonResponse, readBody } from './http-io';
import { entriesToCsv, entryToJson } from './ledger-entries';
import { buildLedgerFeed, ledgerFeedRequestSchema } from './ledger-feed';
import type { SimulatorContext } from './simulator-context';
import { truthExportChunks } from './truth-export';

export const ADMIN_TOKEN_HEADER = 'x-sim-admin-token';

const advanceSchema = z.union([z.object({ seconds: z.number().int().min(0) }), z.object({ to: z.iso.datetime({ offset: true }) })]);
const settleSchema = z.object({ pay: z.boolean().default(false) });
/** An amount in centicents: a bigint (lossless JSON) or a string of up to 19 digits. */
const centicentsInput = z.union([
  z.bigint(),
  z
    .string()
    .regex(/^[0-9]{1,19}$/)
    .transform(BigInt),
]);
const depositSchema = z.object({
  amount_centicents: centicentsInput.refine((v) => v > 0n, 'must be positive'),
  business_transaction_id: z
    .string()
    .regex(/^[A-Za-z0-9._:/-]{1,128}$/)
    .optional(),
});

const portalWithdrawalSchema = z.object({
  amount_centicents: centicentsInput.refine((v) => v > 0n && v % 100n === 0n, 'must be a positive number of whole cents'),
});
const releaseSchema = z.object({ count: z.number().int().min(1).optional() });
const correctionSchema = z.object({ cycle: z.iso.datetime({ offset: true }), entry_back_seconds: z.number().int().min(0).optional() });

function parseWith<T extends z.ZodType>(schema: T, body: string, lossless = false): z.infer<T> {
  let raw: unknown;
  try {
    raw = body === '' ? {} : lossless ? parseKlearJson(body) : JSON.parse(body);
  } catch {
    throw new BadRequest('invalid_parameter', 'body must be JSON');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new BadRequest('invalid_parameter', z.prettifyError(parsed.error));
  return parsed.data;
}

function clockState(ctx: SimulatorContext) {
  const { state } = ctx;
  const now = state.now();
  const last = state.lastSettledCycle(now);
  const active = state.activeObligationCycle(now);
  const balance = bufferBalance(state, now);
  return {
    now: formatTimestamp(now),
    last_settled_cycle: last >= 0 ? formatTimestamp(state.schedule.timeOf(last)) : null,
    open_cycle: formatTimestamp(state.schedule.timeOf(last + 1)),
    active_obligation_id: active === undefined ? null : state.obligation(active, now).id,
    next_payment_at: formatTimestamp(state.paymentMs(active ?? last + 1)),
    balance_available_centicents: balance.available.toString(),
    locked_balance_centicents: balance.locked.toString(),
  };
}

function cycleBound(ctx: SimulatorContext, text: string | null, fallback: number): number {
  if (text === null) return fallback;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new BadRequest('invalid_parameter', `${text} is not a date-time`);
  return ctx.state.schedule.lastIndexAtOrBefore(ms);
}

/** The /__sim control path (JSON, guarded by its own token). */
export async function handleAdminRequest(ctx: SimulatorContext, req: IncomingMessage, url: URL): Promise<SimResponse> {
  if (req.headers[ADMIN_TOKEN_HEADER] !== ctx.options.adminToken) {
    return errorResponse(401, 'unauthorized', `admin path needs the ${ADMIN_TOKEN_HEADER} header`);
  }
  try {
    const body = req.method === 'POST' || req.method === 'PUT' ? await readBody(req, 10_000_000) : '';
    const route = `${req.method} ${url.pathname.slice('/__sim'.length)}`;
    const { state } = ctx;
    switch (route) {
      case 'GET /state':
        return jsonResponse(200, clockState(ctx));
      case 'POST /clock/advance': {
        const request = parseWith(advanceSchema, body);
        if ('seconds' in request) state.clock.advanceBy(request.seconds * 1000);
        else {
          const target = Date.parse(request.to);
          if (target < state.now()) throw new BadRequest('invalid_parameter', 'the clock cannot go back');
          state.clock.advanceTo(target);
        }
        return jsonResponse(200, clockState(ctx));
      }
      case 'POST /clock/settle-open-cycle': {
        const { pay } = parseWith(settleSchema, body);
        const open = state.openCycle();
        state.clock.advanceTo(pay ? state.paymentMs(open) : state.schedule.timeOf(open));
        return jsonResponse(200, clockState(ctx));
      }
      case 'POST /deposits': {
        const request = parseWith(depositSchema, body, true);
        const deposit = state.addDeposit(request.amount_centicents, request.business_transaction_id);
        return jsonResponse(200, {
          business_transaction_id: deposit.businessTransactionId,
          amount_centicents: deposit.amount.toString(),
          created_ts: formatTimestamp(deposit.atMs),
        });
      }
      case 'POST /withdrawals': {
        // A withdrawal made by a person in the Klear portal: Klear holds it like any other, but it
        // never came through the API (not counted in withdrawal_posts).
        const request = parseWith(portalWithdrawalSchema, body, true);
        if (request.amount_centicents > bufferBalance(state).available)
          throw new BadRequest('insufficient_balance', 'amount exceeds the available settlement balance');
        const withdrawal = state.addWithdrawal(request.amount_centicents, 'portal');
        return jsonResponse(200, {
          id: withdrawal.id,
          amount_centicents: withdrawal.amount.toString(),
          source: withdrawal.source,
          created_ts: formatTimestamp(withdrawal.createdMs),
        });
      }
      case 'GET /holds':
        return jsonResponse(200, { held: ctx.holds.list() });
      case 'POST /holds/release': {
        const { count } = parseWith(releaseSchema, body);
        return jsonResponse(200, { released: ctx.holds.release(count) });
      }
      case 'GET /faults':
        return jsonResponse(200, { ...ctx.faults.describe(), fired: ctx.faults.firedLog });
      case 'PUT /faults': {
        const config = parseWith(faultConfigSchema, body);
        ctx.faults.configure(config.rules, config.seed);
        return jsonResponse(200, ctx.faults.describe());
      }
      case 'DELETE /faults':
        ctx.faults.configure([]);
        return jsonResponse(200, ctx.faults.describe());
      case 'GET /counters':
        return jsonResponse(200, {
          withdrawal_posts: ctx.counters.withdrawalPosts,
          withdrawal_post_count: ctx.counters.withdrawalPosts.length,
          requests_by_endpoint: ctx.counters.requestsByEndpoint,
        });
      case 'POST /sessions/expire':
        ctx.auth.expireAllSessions();
        return jsonResponse(200, { expired: true });
      case 'GET /truth': {
        const last = state.lastSettledCycle();
        const from = cycleBound(ctx, url.searchParams.get('from'), 0);
        const to = cycleBound(ctx, url.searchParams.get('to'), last);
        return { status: 200, body: truthExportChunks(ctx, from, to) };
      }
      case 'POST /corrections': {
        // A fee correction to a settled cycle's obligation, published now (however old the cycle); its
        // balance-history entry dated now, or `entry_back_seconds` earlier (a back-dated entry).
        const request = parseWith(correctionSchema, body);
        const cycle = state.schedule.lastIndexAtOrBefore(Date.parse(request.cycle));
        if (cycle < 0 || cycle > state.lastSettledCycle() || state.schedule.timeOf(cycle) !== Date.parse(request.cycle)) {
          throw new BadRequest('invalid_parameter', `${request.cycle} is not the execution time of a settled cycle`);
        }
        const back = request.entry_back_seconds === undefined ? undefined : request.entry_back_seconds * 1000;
        const adjustment = state.injectObligationChange(cycle, state.injectedAdjustments.length + 1, back);
        return jsonResponse(200, {
          business_transaction_id: adjustment.businessTransactionId,
          fee_delta_centicents: adjustment.feeDelta.toString(),
          entry_ts: formatTimestamp(adjustment.entryAtMs ?? adjustment.atMs),
        });
      }
      case 'POST /klear-errors':
        return jsonResponse(200, { errors: applyKlearErrors(state, parseWith(klearErrorsRequestSchema, body)) });
      case 'POST /ledger-feed': {
        const request = parseWith(ledgerFeedRequestSchema, body);
        const feed = buildLedgerFeed(state, request, state.now());
        if (request.format === 'csv') {
          return { status: 200, contentType: 'text/csv; charset=utf-8', body: entriesToCsv(feed.entries) };
        }
        return jsonResponse(200, {
          as_of: feed.as_of,
          cycles: feed.cycles,
          entries: feed.entries.map(entryToJson),
          answer_key: {
            discrepancies: feed.discrepancies,
            breaks: feed.breaks.map((expected) => ({
              ...expected,
              klear_value: expected.klear_value?.toString() ?? null,
              internal_value: expected.internal_value?.toString() ?? null,
              difference: expected.difference.toString(),
              pnl_difference: expected.pnl_difference?.toString(),
              fees_difference: expected.fees_difference?.toString(),
            })),
          },
        });
      }
      default:
        return errorResponse(404, 'not_found', `no admin route ${route}`);
    }
  } catch (error) {
    if (error instanceof BadRequest) return errorResponse(error.status, error.code, error.message);
    if (error instanceof RangeError) return errorResponse(400, 'invalid_parameter', error.message);
    throw error;
  }
}
