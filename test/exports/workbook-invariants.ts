import { expect } from '@jest/globals';
import type ExcelJS from 'exceljs';
import { centicents, records, type SheetRecord } from './workbook-reader';

type Query = <T>(sql: string, params?: unknown[]) => Promise<T[]>;

const OPEN = ['open', 'acknowledged', 'pending_write_off'];
export const money = (r: SheetRecord, name: string): bigint | null => centicents(r[`${name} (centicents)`]);
const sum = (rows: SheetRecord[], name: string) => rows.reduce((s, r) => s + (money(r, name) ?? 0n), 0n);
const cycleMs = (r: SheetRecord) => (r['Cycle (ET)'] instanceof Date ? (r['Cycle (ET)'] as Date).getTime() : null);
const text = (v: unknown) => JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
const sorted = <T>(xs: T[]) => [...xs].sort((a, b) => (text(a) < text(b) ? -1 : 1));

/** The day's cycles as PostgreSQL dates them in ET, each with its latest successful run and that run's ledger bound. */
const DAY_SCOPE = `
  WITH cycles AS (SELECT DISTINCT execution_time AS cycle FROM klear_obligation WHERE (execution_time AT TIME ZONE 'America/New_York')::date = $1::date),
  scope AS (SELECT c.cycle, r.id AS run_id, coalesce((r.inputs->>'ledger_seq')::bigint, 9223372036854775807) AS hwm
              FROM cycles c LEFT JOIN LATERAL (SELECT id, inputs FROM recon_run WHERE scope = 'cycle' AND cycle = c.cycle AND status = 'succeeded' ORDER BY id DESC LIMIT 1) r ON true)`;

/** An ET wall-clock time as exceljs reads back an Excel date (the sheet writes ET wall time as a zone-less date). */
function sheetTimeOfCycle(cycle: Date): number {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: 'America/New_York',
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(cycle);
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
}

export interface DayFacts {
  foundBreaks: number;
  closedOnTheDay: number;
  runIds: string[];
}

/**
 * The workbook's promises about one day, checked on the file as read back (docs/daily-workbook.md):
 * the sheets agree with each other on breaks, every Klear-vs-internal difference on the Summary is
 * the sum of the breaks behind it, and every total equals the database's to the centicent.
 */
export async function expectWorkbookInvariants(q: Query, workbook: ExcelJS.Workbook, date: string): Promise<DayFacts> {
  const summary = records(workbook, 'Summary');
  const breaks = records(workbook, 'Breaks');
  const subtraders = records(workbook, 'Subtraders');
  const found = breaks.filter((b) => b['Listed because'] === 'found');
  const closed = breaks.filter((b) => b['Listed because'] === 'closed on the day');
  expect(found.length + closed.length).toBe(breaks.length);
  const line = (section: string, item: string) => {
    const rows = summary.filter((r) => r.Section === section && r.Item === item);
    expect([section, item, rows.length]).toEqual([section, item, 1]);
    return rows[0];
  };

  // 1. The Summary's break table is the Breaks sheet counted by listing, check and status.
  const counted = new Map<string, { count: number; difference: bigint }>();
  for (const b of breaks) {
    const key = `${b['Listed because'] === 'found' ? 'Breaks' : 'Closed on the day'}|${b.Check} ${b.Status}`;
    const c = counted.get(key) ?? { count: 0, difference: 0n };
    counted.set(key, { count: c.count + 1, difference: c.difference + money(b, 'Difference')! });
  }
  const table = summary.filter(
    (r) => (r.Section === 'Breaks' || r.Section === 'Closed on the day') && /^[a-z_]+ [a-z_]+$/.test(String(r.Item)),
  );
  expect(sorted(table.map((r) => [`${r.Section}|${r.Item}`, r.Count, money(r, "Breaks' difference")]))).toEqual(
    sorted([...counted].map(([k, c]) => [k, c.count, c.difference])),
  );
  expect(line('Breaks', "all found by the day's runs").Count).toBe(found.length);
  expect(line('Breaks', 'to work on (open, acknowledged, pending_write_off)').Count).toBe(
    found.filter((b) => OPEN.includes(String(b.Status))).length,
  );
  expect(line('Closed on the day', 'all closed on the day').Count).toBe(closed.length);

  // 2. Every break counted on the Subtraders sheet is a row of the Breaks sheet, and every found break of a subtrader is counted there.
  const ofSubtrader = (s: unknown) => found.filter((b) => b.Subtrader === s);
  for (const s of subtraders) {
    const mine = ofSubtrader(s.Subtrader);
    expect([s.Subtrader, s.Breaks, s['Open breaks'], s['Resolved breaks']]).toEqual([
      s.Subtrader,
      mine.length,
      mine.filter((b) => OPEN.includes(String(b.Status))).length,
      mine.filter((b) => b.Status === 'resolved').length,
    ]);
    if (mine.some((b) => OPEN.includes(String(b.Status)))) expect(s.Status).toBe('open breaks');
    // Per subtrader too, the breaks explain the differences exactly (tolerances are zero here).
    expect([s.Subtrader, money(s, 'Total difference'), money(s, 'Maintenance margin difference')]).toEqual([
      s.Subtrader,
      sum(
        mine.filter((b) => b.Check === 'settlement_details'),
        'Difference',
      ),
      sum(
        mine.filter((b) => b.Check === 'maintenance_margin'),
        'Difference',
      ),
    ]);
  }
  const withSubtrader = found.filter((b) => b.Subtrader !== null && (b.Check === 'settlement_details' || b.Check === 'maintenance_margin'));
  expect(subtraders.reduce((n, s) => n + Number(s.Breaks), 0)).toBe(withSubtrader.length);
  expect(subtraders.reduce((n, s) => n + Number(s['Open breaks']), 0)).toBe(
    withSubtrader.filter((b) => OPEN.includes(String(b.Status))).length,
  );

  // 3. Explainability in the file: each Klear-vs-internal difference is the sum of the found breaks behind it.
  const dayCycles = await q<{ cycle: Date; run_id: string | null }>(`${DAY_SCOPE} SELECT cycle, run_id::text FROM scope ORDER BY cycle`, [
    date,
  ]);
  const contribution: Record<string, [string, string]> = {
    pnl: ['settlement_details', 'Pnl difference'],
    fees: ['settlement_details', 'Fees difference'],
    total: ['settlement_details', 'Difference'],
    'maintenance margin': ['maintenance_margin', 'Difference'],
  };
  const comparisons = summary.filter((r) => r.Section === 'Klear vs internal');
  expect(comparisons).toHaveLength(4 * (dayCycles.length + 1));
  for (const row of comparisons) {
    const [, scope, figure] = /^(.*) (pnl|fees|total|maintenance margin)$/.exec(String(row.Item))!;
    const [check, column] = contribution[figure];
    const cycle = scope === 'day' ? null : dayCycles.find((c) => `${etText(c.cycle)}` === scope)!.cycle;
    const behind = found.filter((b) => b.Check === check && (cycle === null || cycleMs(b) === sheetTimeOfCycle(cycle)));
    expect([row.Item, money(row, 'Difference')]).toEqual([row.Item, sum(behind, column)]);
    expect([row.Item, money(row, "Breaks' difference")]).toEqual([row.Item, sum(behind, column)]);
  }
  // The obligation bridge adds up, and Klear's own inconsistency is a break of the sheet.
  for (const c of dayCycles) {
    const at = etText(c.cycle);
    const terms = summary.filter((r) => r.Section === 'Obligation bridge' && String(r.Item).startsWith(`${at} `));
    const [total, margin, computed, amount] = terms.map((r) => money(r, 'Klear / amount')!);
    expect(terms.map((r) => String(r.Item).slice(at.length + 1))).toEqual([
      'settlement total (details: pnl - fees)',
      'maintenance margin delta (paid when it rises)',
      'amount from the details',
      'obligation amount (Klear)',
    ]);
    expect(total).toBe(money(line('Klear vs internal', `${at} total`), 'Klear / amount'));
    expect(computed).toBe(total + margin);
    const consistency = found.filter(
      (b) => b.Check === 'klear_consistency' && b.Reference === 'amount' && cycleMs(b) === sheetTimeOfCycle(c.cycle),
    );
    expect(money(terms[3], 'Difference')).toBe(amount - computed);
    expect(amount - computed).toBe(sum(consistency, 'Difference'));
  }

  // 4. Totals against the database, to the centicent.
  const [k] = await q<Record<string, string>>(
    `${DAY_SCOPE}
    SELECT coalesce(sum(d.pnl_centicents), 0)::text AS pnl, coalesce(sum(d.fees_centicents), 0)::text AS fees, coalesce(sum(d.total_centicents), 0)::text AS reported_total,
           coalesce(sum(d.pnl_centicents - d.fees_centicents), 0)::text AS total,
           (SELECT coalesce(sum(m.maintenance_margin_centicents), 0) FROM klear_obligation o JOIN klear_margin_detail m ON m.obligation_id = o.id WHERE o.execution_time IN (SELECT cycle FROM scope))::text AS mm
      FROM klear_obligation o JOIN klear_settlement_detail d ON d.obligation_id = o.id WHERE o.execution_time IN (SELECT cycle FROM scope)`,
    [date],
  );
  const [i] = await q<Record<string, string>>(
    `${DAY_SCOPE}
    SELECT coalesce(sum(p.amount_centicents) FILTER (WHERE account = 'trading_pnl'), 0)::text AS pnl,
           (-coalesce(sum(p.amount_centicents) FILTER (WHERE account = 'trading_fees'), 0))::text AS fees,
           coalesce(sum(p.amount_centicents) FILTER (WHERE account IN ('trading_pnl', 'trading_fees')), 0)::text AS total,
           coalesce(sum(p.amount_centicents) FILTER (WHERE account = 'maintenance_margin'), 0)::text AS mm
      FROM scope s JOIN journal_posting p ON p.cycle = s.cycle AND p.entry_seq <= s.hwm`,
    [date],
  );
  for (const [figure, key] of [
    ['pnl', 'pnl'],
    ['fees', 'fees'],
    ['total', 'total'],
    ['maintenance margin', 'mm'],
  ]) {
    const row = line('Klear vs internal', `day ${figure}`);
    expect([figure, money(row, 'Klear / amount'), money(row, 'Internal')]).toEqual([figure, BigInt(k[key]), BigInt(i[key])]);
  }
  const details = records(workbook, 'Settlement details');
  // The detail sheet shows Klear's totals as reported; the Summary compares pnl - fees (equal when Klear is consistent, as here).
  expect([sum(details, 'Klear total'), sum(details, 'Internal total'), sum(details, 'Total difference')]).toEqual([
    BigInt(k.reported_total),
    BigInt(i.total),
    BigInt(k.reported_total) - BigInt(i.total),
  ]);
  expect([
    sum(subtraders, 'Klear pnl'),
    sum(subtraders, 'Internal fees'),
    sum(subtraders, 'Klear maintenance margin'),
    sum(subtraders, 'Internal maintenance margin'),
  ]).toEqual([BigInt(k.pnl), BigInt(i.fees), BigInt(k.mm), BigInt(i.mm)]);

  const dbFound = await q<Record<string, string | null>>(
    `${DAY_SCOPE}
    SELECT b.id::text AS id, o."check", o.difference_centicents::text AS difference, o.pnl_difference_centicents::text AS pnl, o.fees_difference_centicents::text AS fees, b.status
      FROM recon_break_observation o JOIN recon_break b ON b.id = o.break_id
     WHERE o.run_id IN (SELECT run_id FROM scope) AND o."check" <> 'projected'`,
    [date],
  );
  const asBig = (v: string | null) => (v === null ? null : BigInt(v));
  expect(
    sorted(
      found.map((b) => [b['Break id'], b.Check, money(b, 'Difference'), money(b, 'Pnl difference'), money(b, 'Fees difference'), b.Status]),
    ),
  ).toEqual(sorted(dbFound.map((b) => [b.id, b.check, asBig(b.difference), asBig(b.pnl), asBig(b.fees), b.status])));
  const dbClosed = await q<{ id: string; status: string }>(
    `${DAY_SCOPE}
    SELECT b.id::text AS id, b.status FROM recon_break b LEFT JOIN recon_run r ON r.id = b.closed_by_run
     WHERE b."check" <> 'projected'
       AND ((CASE WHEN b.status = 'closed' THEN r.finished_at WHEN b.status = 'resolved' THEN b.resolved_at END) AT TIME ZONE 'America/New_York')::date = $1::date
       AND b.id NOT IN (SELECT o.break_id FROM recon_break_observation o WHERE o.run_id IN (SELECT run_id FROM scope))`,
    [date],
  );
  expect(sorted(closed.map((b) => [b['Break id'], b.Status]))).toEqual(sorted(dbClosed.map((b) => [b.id, b.status])));

  const [buffer] = await q<Record<string, string>>(
    `SELECT (SELECT coalesce(sum(balance_delta_centicents), 0) FROM klear_balance_history WHERE (created_ts AT TIME ZONE 'America/New_York')::date < $1::date)::text AS start_available,
            (SELECT coalesce(sum(locked_balance_delta_centicents), 0) FROM klear_balance_history WHERE (created_ts AT TIME ZONE 'America/New_York')::date < $1::date)::text AS start_locked,
            (SELECT coalesce(sum(balance_delta_centicents), 0) FROM klear_balance_history WHERE (created_ts AT TIME ZONE 'America/New_York')::date <= $1::date)::text AS end_available,
            (SELECT coalesce(sum(locked_balance_delta_centicents), 0) FROM klear_balance_history WHERE (created_ts AT TIME ZONE 'America/New_York')::date <= $1::date)::text AS end_locked,
            (SELECT coalesce(sum(p.amount_centicents), 0) FROM journal_posting p JOIN journal_entry e ON e.ledger_seq = p.entry_seq
              WHERE p.account = 'settlement_buffer' AND (e.effective_at AT TIME ZONE 'America/New_York')::date = $1::date)::text AS ledger_day`,
    [date],
  );
  const bufferLine = (item: string) => money(line('Buffer', item), 'Klear / amount');
  expect([
    bufferLine('available at start of day'),
    bufferLine('locked at start of day'),
    bufferLine('available at end of day'),
    bufferLine('locked at end of day'),
  ]).toEqual([buffer.start_available, buffer.start_locked, buffer.end_available, buffer.end_locked].map(BigInt));
  const movements = line('Buffer', 'movements of the day (Klear history vs ledger)');
  expect(bufferLine('available at start of day')! + money(movements, 'Klear / amount')!).toBe(bufferLine('available at end of day'));
  expect(money(movements, 'Internal')).toBe(BigInt(buffer.ledger_day));
  const movementRows = records(workbook, 'Buffer movements');
  expect([sum(movementRows, 'Klear balance delta'), sum(movementRows, 'Ledger amount')]).toEqual([
    money(movements, 'Klear / amount'),
    BigInt(buffer.ledger_day),
  ]);

  const [w] = await q<{ n: number; amount: string }>(
    `SELECT count(*)::int AS n, coalesce(sum(amount_centicents), 0)::text AS amount FROM withdrawal_request WHERE (created_at AT TIME ZONE 'America/New_York')::date = $1::date`,
    [date],
  );
  const requested = line('Withdrawals', 'requested on the day');
  expect([requested.Count, money(requested, 'Klear / amount')]).toEqual([w.n, BigInt(w.amount)]);
  const withdrawalRows = records(workbook, 'Withdrawals').filter((r) => etDate(r['Requested (ET)'] as Date) === date);
  expect([withdrawalRows.length, sum(withdrawalRows, 'Amount')]).toEqual([w.n, BigInt(w.amount)]);

  // 5. The Summary names the run each cycle comes from.
  for (const c of dayCycles) {
    const note = String(line('Cycle', `${etText(c.cycle)} reconciliation run`).Note);
    expect(note).toMatch(c.run_id ? new RegExp(`^run ${c.run_id}, finished `) : /^not reconciled/);
  }
  return {
    foundBreaks: found.length,
    closedOnTheDay: closed.length,
    runIds: dayCycles.map((c) => c.run_id).filter((r): r is string => r !== null),
  };
}

function etText(at: Date): string {
  const ms = sheetTimeOfCycle(at);
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} ET`;
}

/** The ET date of a sheet's (zone-less, ET wall-clock) date cell. */
function etDate(cell: Date): string {
  return cell.toISOString().slice(0, 10);
}
