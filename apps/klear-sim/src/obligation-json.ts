import { formatTimestamp } from './clock';
import type { ObligationView, SimulatorState } from './state';

const DETAIL_ROWS_PER_CHUNK = 2_000;

/**
 * Writes one ObligationEntry as JSON chunks, generating settlement details row by row from the seed:
 * an obligation of 1,000,000 details is never held in memory as a whole.
 */
export function* obligationEntryChunks(state: SimulatorState, view: ObligationView): Generator<string> {
  const { world } = state;
  const userId = JSON.stringify(state.options.adminUserId);
  yield `{"id":${JSON.stringify(view.id)},"user_id":${userId},"amount_centicents":${view.amount},` +
    `"fees_centicents":${view.totals.fees},"maintenance_margin_centicents":${view.totals.maintenanceMargin},` +
    `"pnl_centicents":${view.totals.pnl},"execution_time":"${formatTimestamp(view.executionMs)}",` +
    `"last_updated_ts":"${formatTimestamp(view.lastUpdatedMs)}","receives":[`;
  if (view.receive !== undefined) {
    const receive = view.receive;
    yield `{"id":"${receive.id}","type":"settlement_receipt","amount_centicents":${receive.amount},` +
      `"external_reference":${JSON.stringify(receive.externalReference)},"created_ts":"${formatTimestamp(receive.createdMs)}"}`;
  }
  yield '],"settlement_details":[';
  const prices = world.prices(view.cycle);
  const previousPrices = world.prices(view.cycle - 1);
  let rows: string[] = [];
  let first = true;
  for (let s = 0; s < world.subtraderCount; s++) {
    const subtraderId = world.subtraderIds[s];
    for (let m = 0; m < world.marketCount; m++) {
      const cell = world.cell(s, m, view.cycle, prices, previousPrices);
      const fees = BigInt(cell.fee) + (view.feeAdjustments.get(s * world.marketCount + m) ?? 0n);
      const pnl = BigInt(cell.pnl);
      rows.push(
        `${first ? '' : ','}{"id":"${world.settlementDetailId(view.cycle, s, m)}","market_ticker":"${world.tickers[m]}",` +
          `"subtrader_id":"${subtraderId}","pnl_centicents":${pnl},"total_fees_centicents":${fees},` +
          `"total_amount_centicents":${pnl - fees + (view.detailTotalErrors.get(s * world.marketCount + m) ?? 0n)}}`,
      );
      first = false;
      if (rows.length >= DETAIL_ROWS_PER_CHUNK) {
        yield rows.join('');
        rows = [];
      }
    }
  }
  if (rows.length > 0) yield rows.join('');
  yield '],"maintenance_margin_details":[';
  rows = [];
  for (let s = 0; s < world.subtraderCount; s++) {
    const margin = world.subtraderMargin(s, view.cycle);
    const previousMargin = world.subtraderMargin(s, view.cycle - 1);
    rows.push(
      `${s === 0 ? '' : ','}{"id":"${world.marginDetailId(view.cycle, s)}","subtrader_id":"${world.subtraderIds[s]}",` +
        `"maintenance_margin_centicents":${margin},"maintenance_margin_delta_centicents":${margin - previousMargin + (view.marginDeltaErrors.get(s) ?? 0n)}}`,
    );
    if (rows.length >= DETAIL_ROWS_PER_CHUNK) {
      yield rows.join('');
      rows = [];
    }
  }
  if (rows.length > 0) yield rows.join('');
  yield ']}';
}

/** `{ obligations: [...], cursor? }` for a page of cycles (already ordered). */
export function* obligationPageChunks(state: SimulatorState, cycles: number[], cursor: string | undefined, now: number): Generator<string> {
  yield '{"obligations":[';
  for (let i = 0; i < cycles.length; i++) {
    if (i > 0) yield ',';
    yield* obligationEntryChunks(state, state.obligation(cycles[i], now));
  }
  yield cursor === undefined ? ']}' : `],"cursor":${JSON.stringify(cursor)}}`;
}
