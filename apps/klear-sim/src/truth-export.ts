import { createHash } from 'node:crypto';
import { MARGIN_REPORT_TYPES, centicentsToUsdAmount, stringifyKlearJson } from '@app/klear-contract';
import { balanceEvents, bufferBalance } from './buffer';
import { formatTimestamp } from './clock';
import { WHOLE, obligationEntryChunks } from './obligation-json';
import { guarantyFundBalance, largeTraderPositions } from './positions';
import { reportCsvChunks, reportCycle } from './reports';
import { etDate } from './schedule';
import type { SimulatorContext } from './simulator-context';

/**
 * Everything the simulator holds at `now`, streamed as one JSON document (bigints as integers).
 * `from`/`to` are cycle indexes (inclusive) bounding the per-cycle parts for large worlds.
 */
export function* truthExportChunks(ctx: SimulatorContext, from: number, to: number): Generator<string> {
  const { state } = ctx;
  const now = state.now();
  const last = state.lastSettledCycle(now);
  const { available, locked } = bufferBalance(state, now);
  yield `{"as_of":"${formatTimestamp(now)}","user_id":${JSON.stringify(state.options.adminUserId)},`;
  yield `"world":${stringifyKlearJson({
    seed: state.options.seed,
    subtraders: state.world.subtraderIds.length,
    markets: state.world.tickers,
    last_settled_cycle: last >= 0 ? formatTimestamp(state.schedule.timeOf(last)) : null,
    open_cycle: formatTimestamp(state.schedule.timeOf(last + 1)),
    active_obligation_id: (() => {
      const active = state.activeObligationCycle(now);
      return active === undefined ? null : state.obligation(active, now).id;
    })(),
  })},`;
  yield '"obligations":[';
  // Every asset class's obligation, with its lists whole (never cut at 1,000: the truth is complete).
  let firstEntry = true;
  for (let cycle = Math.min(to, last); cycle >= Math.max(from, 0); cycle--) {
    for (const view of state.obligations(cycle, now)) {
      if (!firstEntry) yield ',';
      firstEntry = false;
      yield* obligationEntryChunks(state, view, WHOLE);
    }
  }
  yield '],';
  const history = balanceEvents(state, now)
    .reverse()
    .map((event) => ({
      balance_delta_centicents: event.balanceDelta,
      locked_balance_delta_centicents: event.lockedDelta,
      reason: event.reason,
      business_transaction_id: event.businessTransactionId,
      created_ts: formatTimestamp(event.atMs),
    }));
  yield `"settlement_balance":${stringifyKlearJson({ balance_available_centicents: available, locked_balance_centicents: locked })},`;
  yield `"settlement_balance_history":${stringifyKlearJson(history)},`;
  yield `"withdrawals":${stringifyKlearJson(
    state.withdrawals.map((withdrawal) => ({
      id: withdrawal.id,
      amount: centicentsToUsdAmount(withdrawal.amount),
      amount_centicents: withdrawal.amount,
      status: state.withdrawalStatus(withdrawal, now),
      created_ts: formatTimestamp(withdrawal.createdMs),
      final_ts: formatTimestamp(withdrawal.finalMs),
      source: withdrawal.source,
    })),
  )},`;
  yield `"withdrawal_posts":${stringifyKlearJson(ctx.counters.withdrawalPosts)},`;
  yield `"deposits":${stringifyKlearJson(
    state.deposits.map((deposit) => ({
      amount_centicents: deposit.amount,
      business_transaction_id: deposit.businessTransactionId,
      created_ts: formatTimestamp(deposit.atMs),
    })),
  )},`;
  yield `"guaranty_fund":${stringifyKlearJson(guarantyFundBalance(state, now))},`;
  const dates: string[] = [];
  for (let cycle = Math.min(to, last); cycle >= Math.max(from, 0); cycle--) {
    const date = etDate(state.schedule.timeOf(cycle));
    if (dates.at(-1) !== date) dates.push(date);
  }
  yield `"large_trader_positions":${stringifyKlearJson(dates.map((date) => largeTraderPositions(state, date, now)))},`;
  yield '"reports":[';
  let first = true;
  for (const date of dates) {
    const cycle = reportCycle(state, date, now);
    if (cycle === undefined) continue;
    for (const type of MARGIN_REPORT_TYPES) {
      const hash = createHash('sha256');
      let bytes = 0;
      for (const chunk of reportCsvChunks(state, date, type, cycle)) {
        hash.update(chunk, 'utf8');
        bytes += Buffer.byteLength(chunk, 'utf8');
      }
      yield `${first ? '' : ','}{"date":"${date}","report_type":"${type}","sha256":"${hash.digest('hex')}","bytes":${bytes}}`;
      first = false;
    }
  }
  yield `],"injected_obligation_changes":${stringifyKlearJson(
    state.injectedAdjustments.map((change) => ({
      execution_time: formatTimestamp(state.schedule.timeOf(change.cycle)),
      subtrader_id: state.world.subtraderIds[change.subtrader],
      market_ticker: state.world.tickers[change.market],
      fee_delta_centicents: change.feeDelta,
      at: formatTimestamp(change.atMs),
    })),
  )}}`;
}
