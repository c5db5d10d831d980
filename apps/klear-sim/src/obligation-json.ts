import { INLINE_DETAIL_CAP } from '@app/klear-contract';
import { formatTimestamp } from './clock';
import { Salt, hashInts } from './prng';
import type { ObligationView, SimulatorState } from './state';

const DETAIL_ROWS_PER_CHUNK = 2_000;

/** The three detail lists of an obligation, each generated row by row from the seed. */
export type DetailList = 'settlement_details' | 'maintenance_margin_details' | 'funding_payments';

/**
 * A detail list as a sequence of raw slots: slot i holds a row or nothing (a funding cell of a flat
 * position pays nothing and is not listed). Paging resumes at a slot, so a 1,000,000-row list is
 * walked once over all its pages, never held in memory.
 */
interface RowSource {
  slots: number;
  row(slot: number): string | undefined;
}

function fixedPoint(count: number): string {
  return `${count}.00`;
}

function settlementSource(state: SimulatorState, view: ObligationView): RowSource {
  const { world } = state;
  const markets = world.marketsOfClass[view.classIndex];
  const prices = world.prices(view.cycle);
  const previousPrices = world.prices(view.cycle - 1);
  return {
    slots: world.subtraderCount * markets.length,
    row(slot) {
      const s = Math.floor(slot / markets.length);
      const m = markets[slot % markets.length];
      const cell = world.cell(s, m, view.cycle, prices, previousPrices);
      const key = s * world.marketCount + m;
      const fees = BigInt(cell.fee) + (view.feeAdjustments.get(key) ?? 0n);
      const pnl = BigInt(cell.pnl);
      return (
        `{"id":"${world.settlementDetailId(view.cycle, s, m)}","market_ticker":"${world.tickers[m]}",` +
        `"subtrader_id":"${world.subtraderIds[s]}","position_quantity_fp":"${fixedPoint(cell.position)}","pnl_centicents":${pnl},` +
        `"total_fees_centicents":${fees},"total_amount_centicents":${pnl - fees + (view.detailTotalErrors.get(key) ?? 0n)}}`
      );
    },
  };
}

function marginSource(state: SimulatorState, view: ObligationView): RowSource {
  const { world } = state;
  const rows = world.marginRows(view.cycle, view.classIndex);
  return {
    slots: rows.length,
    row(slot) {
      const r = rows[slot];
      if (r.group >= 0) {
        return (
          `{"id":"${world.groupMarginDetailId(view.cycle, r.group)}","subtrader_id":"","margin_group_id":"${world.groupIds[r.group]}",` +
          `"maintenance_margin_centicents":${r.margin},"maintenance_margin_delta_centicents":${r.margin - r.previousMargin}}`
        );
      }
      return (
        `{"id":"${world.marginDetailId(view.cycle, r.subtrader)}","subtrader_id":"${world.subtraderIds[r.subtrader]}",` +
        `"maintenance_margin_centicents":${r.margin},"maintenance_margin_delta_centicents":${r.margin - r.previousMargin + (view.marginDeltaErrors.get(r.subtrader) ?? 0n)}}`
      );
    },
  };
}

function fundingSource(state: SimulatorState, view: ObligationView): RowSource {
  const { world } = state;
  const markets = world.marketsOfClass[view.classIndex];
  const perCycle = world.fundingPerCycle;
  const previousPrices = world.prices(view.cycle - 1);
  const times = world.fundingTimes(state.schedule.timeOf(view.cycle - 1), view.executionMs).map(formatTimestamp);
  return {
    slots: world.subtraderCount * markets.length * perCycle,
    row(slot) {
      const k = slot % perCycle;
      const cellIndex = Math.floor(slot / perCycle);
      const s = Math.floor(cellIndex / markets.length);
      const m = markets[cellIndex % markets.length];
      const funding = world.fundingCell(s, m, view.cycle, k, previousPrices);
      if (funding.position === 0) return undefined;
      return (
        `{"id":"${world.fundingPaymentId(view.cycle, s, m, k)}","market_ticker":"${world.tickers[m]}","subtrader_id":"${world.subtraderIds[s]}",` +
        `"funding_time":"${times[k]}","position_quantity_fp":"${fixedPoint(funding.position)}",` +
        `"notional_value_centicents":${funding.notional},"funding_amount_centicents":${funding.amount}}`
      );
    },
  };
}

export function detailSource(state: SimulatorState, view: ObligationView, list: DetailList): RowSource {
  if (list === 'settlement_details') return settlementSource(state, view);
  if (list === 'maintenance_margin_details') return marginSource(state, view);
  return fundingSource(state, view);
}

/** Seeded quirk of the live API: some empty lists come as `null`, some last cursors as `""`. */
export function quirk(state: SimulatorState, ...keys: number[]): boolean {
  return state.options.wireQuirks && (hashInts(state.options.seed, Salt.fault, 77, ...keys) & 1) === 1;
}

/** How an entry is written: as the API serves it (cut at 1,000, quirks), or whole (the truth export). */
export interface EntryForm {
  cap: number;
  quirks: boolean;
}

const AS_SERVED: EntryForm = { cap: INLINE_DETAIL_CAP, quirks: true };
export const WHOLE: EntryForm = { cap: Number.MAX_SAFE_INTEGER, quirks: false };

/** Writes up to `limit` rows from `startSlot`; answers the slot to resume at (undefined: the list ended). */
function* rowChunks(
  source: RowSource,
  startSlot: number,
  limit: number,
  out: { next: number | undefined; count: number },
): Generator<string> {
  let rows: string[] = [];
  let slot = startSlot;
  out.count = 0;
  for (; slot < source.slots && out.count < limit; slot++) {
    const row = source.row(slot);
    if (row === undefined) continue;
    rows.push(out.count === 0 ? row : `,${row}`);
    out.count++;
    if (rows.length >= DETAIL_ROWS_PER_CHUNK) {
      yield rows.join('');
      rows = [];
    }
  }
  if (rows.length > 0) yield rows.join('');
  // Is there any row left after this page?
  for (; slot < source.slots; slot++) {
    if (source.row(slot) !== undefined) {
      out.next = slot;
      return;
    }
  }
  out.next = undefined;
}

function* inlineList(
  state: SimulatorState,
  view: ObligationView,
  list: DetailList,
  flags: Record<string, boolean>,
  form: EntryForm,
): Generator<string> {
  const out = { next: undefined as number | undefined, count: 0 };
  if (form.cap !== INLINE_DETAIL_CAP) {
    yield `"${list}":[`;
    yield* rowChunks(detailSource(state, view, list), 0, form.cap, out);
    yield ']';
    return;
  }
  const chunks: string[] = [];
  for (const chunk of rowChunks(detailSource(state, view, list), 0, form.cap, out)) chunks.push(chunk);
  flags[`${list}_truncated`] = out.next !== undefined;
  if (out.count === 0 && form.quirks && quirk(state, view.cycle, list.length)) {
    yield `"${list}":null`;
    return;
  }
  yield `"${list}":[`;
  yield* chunks;
  yield ']';
}

/**
 * Writes one ObligationEntry as JSON chunks. Each inline detail list holds at most
 * INLINE_DETAIL_CAP rows (as the live API); its `*_truncated` flag says when the complete list must
 * be read from the paged endpoint.
 */
export function* obligationEntryChunks(state: SimulatorState, view: ObligationView, form: EntryForm = AS_SERVED): Generator<string> {
  const userId = JSON.stringify(state.options.adminUserId);
  yield (
    `{"id":${JSON.stringify(view.id)},"user_id":${userId},"asset_class":${JSON.stringify(view.assetClass)},"amount_centicents":${view.amount},` +
    `"fees_centicents":${view.totals.fees},"maintenance_margin_centicents":${view.totals.maintenanceMargin},` +
    `"pnl_centicents":${view.totals.pnl},"execution_time":"${formatTimestamp(view.executionMs)}",` +
    `"last_updated_ts":"${formatTimestamp(view.lastUpdatedMs)}",`
  );
  if (view.receive !== undefined) {
    const receive = view.receive;
    yield (
      `"receives":[{"id":"${receive.id}","type":"settlement_receipt","amount_centicents":${receive.amount},` +
      `"external_reference":${JSON.stringify(receive.externalReference)},"created_ts":"${formatTimestamp(receive.createdMs)}"}],`
    );
  } else {
    yield form.quirks && quirk(state, view.cycle, 1) ? '"receives":null,' : '"receives":[],';
  }
  const flags: Record<string, boolean> = {};
  yield* inlineList(state, view, 'settlement_details', flags, form);
  yield ',';
  yield* inlineList(state, view, 'maintenance_margin_details', flags, form);
  yield ',';
  yield* inlineList(state, view, 'funding_payments', flags, form);
  const flagText = Object.entries(flags)
    .map(([name, value]) => `,"${name}":${value}`)
    .join('');
  yield `${flagText}}`;
}

/** `{ obligations: [...], cursor? }` for a page of obligations (already ordered). */
export function* obligationPageChunks(state: SimulatorState, views: ObligationView[], cursor: string | undefined): Generator<string> {
  yield '{"obligations":[';
  for (let i = 0; i < views.length; i++) {
    if (i > 0) yield ',';
    yield* obligationEntryChunks(state, views[i]);
  }
  if (cursor !== undefined) yield `],"cursor":${JSON.stringify(cursor)}}`;
  else yield quirk(state, views.length, 2) ? '],"cursor":""}' : ']}';
}

/** Paged detail cursors are opaque: base64url of the slot to resume at. */
export function encodeSlotCursor(slot: number): string {
  return Buffer.from(`slot:${slot}`, 'utf8').toString('base64url');
}

export function decodeSlotCursor(raw: string): number | undefined {
  const match = /^slot:([0-9]{1,12})$/.exec(/^[A-Za-z0-9_-]{1,32}$/.test(raw) ? Buffer.from(raw, 'base64url').toString('utf8') : '');
  return match === null ? undefined : Number(match[1]);
}

/** One page of a paged detail endpoint: `{ <list>: [...], cursor? }`. */
export function* detailPageChunks(
  state: SimulatorState,
  view: ObligationView,
  list: DetailList,
  startSlot: number,
  limit: number,
): Generator<string> {
  const out = { next: undefined as number | undefined, count: 0 };
  yield `{"${list}":[`;
  yield* rowChunks(detailSource(state, view, list), startSlot, limit, out);
  if (out.next !== undefined) yield `],"cursor":"${encodeSlotCursor(out.next)}"}`;
  else yield quirk(state, view.cycle, startSlot, 3) ? '],"cursor":""}' : ']}';
}
