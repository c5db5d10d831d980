import { createHmac, timingSafeEqual } from 'node:crypto';
import type { MarginReport, MarginReportType } from '@app/klear-contract';
import { MARGIN_REPORT_TYPES } from '@app/klear-contract';
import { formatTimestamp } from './clock';
import { Salt, hashInts } from './prng';
import { etDate, etDayEndExclusive, etDayStart } from './schedule';
import type { SimulatorState } from './state';

/** A report is published this long after the cycle it describes. */
const REPORT_DELAY_MS = 5 * 60_000;
const CSV_ROWS_PER_CHUNK = 5_000;

export const REPORT_FILE_PATH = /^\/__files\/reports\/([0-9]{4}-[0-9]{2}-[0-9]{2})\/([a-z_]+)\.csv$/;

/** The last cycle of an ET day settled at `now`, or undefined. */
export function reportCycle(state: SimulatorState, date: string, now: number): number | undefined {
  const dayEnd = etDayEndExclusive(etDayStart(date));
  const lastOfDay = state.schedule.lastIndexAtOrBefore(Math.min(now, dayEnd - 1));
  if (lastOfDay < 0 || etDate(state.schedule.timeOf(lastOfDay)) !== date) return undefined;
  if (state.schedule.timeOf(lastOfDay) + REPORT_DELAY_MS > now) return undefined;
  return lastOfDay;
}

function signature(key: string, path: string, expires: number): string {
  return createHmac('sha256', key).update(`${path}\n${expires}`).digest('hex');
}

export function reportPath(date: string, type: MarginReportType): string {
  return `/__files/reports/${date}/${type}.csv`;
}

export function listMarginReports(state: SimulatorState, startDate: string, endDate: string, origin: string, now: number): MarginReport[] {
  const reports: MarginReport[] = [];
  const expires = Math.floor(now / 1000) + state.options.reportUrlTtlSeconds;
  // Most recent day first, types in a fixed order.
  for (let day = etDayStart(endDate); day >= etDayStart(startDate); day = etDayStart(etDate(day - 3_600_000))) {
    const date = etDate(day);
    const cycle = reportCycle(state, date, now);
    if (cycle === undefined) continue;
    for (const type of MARGIN_REPORT_TYPES) {
      const path = reportPath(date, type);
      reports.push({
        report_type: type,
        url: `${origin}${path}?expires=${expires}&signature=${signature(state.options.reportSigningKey, path, expires)}`,
        date,
        created_ts: formatTimestamp(state.schedule.timeOf(cycle) + REPORT_DELAY_MS),
        is_end_of_day: etDayEndExclusive(day) <= now,
      });
    }
  }
  return reports;
}

/** Checks a presigned URL against the simulated clock: a bad signature or a past expiry is refused. */
export function verifyReportUrl(state: SimulatorState, path: string, query: URLSearchParams, now: number): boolean {
  const expiresText = query.get('expires') ?? '';
  const given = query.get('signature') ?? '';
  if (!/^[0-9]{1,12}$/.test(expiresText) || !/^[0-9a-f]{64}$/.test(given)) return false;
  const expected = signature(state.options.reportSigningKey, path, Number(expiresText));
  if (!timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(given, 'hex'))) return false;
  return Number(expiresText) >= Math.floor(now / 1000);
}

export function isReportType(text: string): text is MarginReportType {
  return (MARGIN_REPORT_TYPES as readonly string[]).includes(text);
}

/** The CSV file of one report, as chunks (documented in the README). */
export function* reportCsvChunks(state: SimulatorState, date: string, type: MarginReportType, cycle: number): Generator<string> {
  const { world } = state;
  const execution = formatTimestamp(state.schedule.timeOf(cycle));
  const prices = world.prices(cycle);
  const previousPrices = world.prices(cycle - 1);
  let rows: string[] = [];
  function* flush(force: boolean): Generator<string> {
    if (rows.length > 0 && (force || rows.length >= CSV_ROWS_PER_CHUNK)) {
      yield rows.join('');
      rows = [];
    }
  }
  switch (type) {
    case 'trade_audit':
      yield 'report_date,execution_time,subtrader_id,market_ticker,quantity,price_centicents,fee_centicents\n';
      for (let s = 0; s < world.subtraderCount; s++) {
        for (let m = 0; m < world.marketCount; m++) {
          const cell = world.cell(s, m, cycle, prices, previousPrices);
          const quantity = cell.position - cell.previousPosition;
          if (quantity === 0) continue;
          rows.push(`${date},${execution},${world.subtraderIds[s]},${world.tickers[m]},${quantity},${prices[m]},${cell.fee}\n`);
        }
        yield* flush(false);
      }
      break;
    case 'position_snapshot':
      yield 'report_date,execution_time,subtrader_id,market_ticker,position,settlement_price_centicents,maintenance_margin_centicents\n';
      for (let s = 0; s < world.subtraderCount; s++) {
        for (let m = 0; m < world.marketCount; m++) {
          const position = world.position(s, m, cycle);
          if (position === 0) continue;
          rows.push(
            `${date},${execution},${world.subtraderIds[s]},${world.tickers[m]},${position},${prices[m]},${world.positionMargin(m, position)}\n`,
          );
        }
        yield* flush(false);
      }
      break;
    case 'market_price_snapshot':
      yield 'report_date,execution_time,market_ticker,asset_class,settlement_price_centicents,previous_settlement_price_centicents\n';
      for (let m = 0; m < world.marketCount; m++) {
        rows.push(`${date},${execution},${world.tickers[m]},${world.assetClassOfMarket[m]},${prices[m]},${previousPrices[m]}\n`);
      }
      break;
    case 'funding_periods': {
      yield 'report_date,market_ticker,period_start,period_end,funding_rate_ppm,funding_centicents_per_contract\n';
      const periodStart = formatTimestamp(state.schedule.timeOf(cycle - 1));
      for (let m = 0; m < world.marketCount; m++) {
        const ratePpm = (hashInts(world.seed, Salt.funding, m, cycle) % 1_001) - 500;
        const perContract = (BigInt(prices[m]) * BigInt(ratePpm)) / 1_000_000n;
        rows.push(`${date},${world.tickers[m]},${periodStart},${execution},${ratePpm},${perContract}\n`);
      }
      break;
    }
    case 'settlement_periods': {
      yield 'report_date,execution_time,obligation_id,pnl_centicents,fees_centicents,maintenance_margin_centicents,amount_centicents,last_updated_ts\n';
      const reportMs = state.schedule.timeOf(cycle) + REPORT_DELAY_MS;
      for (let c = cycle; c >= 0 && etDate(state.schedule.timeOf(c)) === date; c--) {
        const view = state.obligation(c, reportMs);
        rows.unshift(
          `${date},${formatTimestamp(view.executionMs)},${view.id},${view.totals.pnl},${view.totals.fees},` +
            `${view.totals.maintenanceMargin},${view.amount},${formatTimestamp(view.lastUpdatedMs)}\n`,
        );
      }
      break;
    }
  }
  yield* flush(true);
}
