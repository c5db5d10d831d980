import type { DataSource } from 'typeorm';
import type { Truth } from './ingestion-world';

/** Each Klear fact as one line, per category, sorted: two worlds are equal when their line sets are. */
export type FactLines = Record<string, string[]>;

const iso = (v: unknown) => new Date(v as string | Date).toISOString();
const s = (v: unknown) => String(v);

export function truthFacts(truth: Truth): FactLines {
  const out: FactLines = {
    obligations: [],
    settlement_details: [],
    margin_details: [],
    receives: [],
    balance_history: [],
    reports: [],
    large_trader: [],
    current: [],
  };
  for (const o of truth.obligations) {
    out.obligations.push(
      [
        o.id,
        o.amount_centicents,
        o.fees_centicents,
        o.maintenance_margin_centicents,
        o.pnl_centicents,
        iso(o.execution_time),
        iso(o.last_updated_ts),
      ]
        .map(s)
        .join('|'),
    );
    for (const d of o.settlement_details)
      out.settlement_details.push(
        [o.id, d.id, d.market_ticker, d.subtrader_id, d.pnl_centicents, d.total_fees_centicents, d.total_amount_centicents]
          .map(s)
          .join('|'),
      );
    for (const m of o.maintenance_margin_details)
      out.margin_details.push(
        [o.id, m.id, m.subtrader_id, m.maintenance_margin_centicents, m.maintenance_margin_delta_centicents].map(s).join('|'),
      );
    for (const r of o.receives)
      out.receives.push([o.id, r.id, r.type, r.amount_centicents, r.external_reference, iso(r.created_ts)].map(s).join('|'));
  }
  for (const e of truth.settlement_balance_history) {
    out.balance_history.push(
      [e.business_transaction_id, iso(e.created_ts), e.balance_delta_centicents, e.locked_balance_delta_centicents, e.reason]
        .map(s)
        .join('|'),
    );
  }
  for (const r of truth.reports) out.reports.push([r.date, r.report_type, r.sha256, r.bytes].map(s).join('|'));
  for (const l of truth.large_trader_positions) {
    out.large_trader.push(
      `${l.report_date}:${l.positions
        .map((p) => `${p.market_ticker}=${p.position}`)
        .sort()
        .join(',')}`,
    );
  }
  out.current.push(`active=${truth.world.active_obligation_id ?? 'none'}`);
  out.current.push(
    `balance=${truth.settlement_balance.balance_available_centicents}/${truth.settlement_balance.locked_balance_centicents}`,
  );
  out.current.push(`guaranty_fund=${truth.guaranty_fund.amount_centicents}`);
  for (const k of Object.keys(out)) out[k].sort();
  return out;
}

export async function databaseFacts(ds: DataSource): Promise<FactLines> {
  const q = async (sql: string) => ((await ds.query(sql)) as Array<{ line: string }>).map((r) => r.line).sort();
  const ts = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  const [active] = (await ds.query(
    `SELECT obligation_id FROM klear_active_obligation_pull ORDER BY pulled_at DESC, id DESC LIMIT 1`,
  )) as Array<{ obligation_id: string | null }>;
  const [balance] = (await ds.query(
    `SELECT available_centicents, locked_centicents FROM klear_balance_snapshot ORDER BY pulled_at DESC, id DESC LIMIT 1`,
  )) as Array<{ available_centicents: string; locked_centicents: string }>;
  const [fund] = (await ds.query(
    `SELECT amount_centicents FROM klear_guaranty_fund_snapshot ORDER BY pulled_at DESC, id DESC LIMIT 1`,
  )) as Array<{ amount_centicents: string }>;
  return {
    obligations: await q(
      `SELECT concat_ws('|', id, amount_centicents, fees_centicents, maintenance_margin_centicents, pnl_centicents, ${ts('execution_time')}, ${ts('last_updated_ts')}) AS line FROM klear_obligation`,
    ),
    settlement_details: await q(
      `SELECT concat_ws('|', obligation_id, id, market_ticker, subtrader_id, pnl_centicents, fees_centicents, total_centicents) AS line FROM klear_settlement_detail`,
    ),
    margin_details: await q(
      `SELECT concat_ws('|', obligation_id, id, subtrader_id, maintenance_margin_centicents, maintenance_margin_delta_centicents) AS line FROM klear_margin_detail`,
    ),
    receives: await q(
      `SELECT concat_ws('|', obligation_id, id, type, amount_centicents, external_reference, ${ts('created_ts')}) AS line FROM klear_receive`,
    ),
    balance_history: await q(
      `SELECT concat_ws('|', business_transaction_id, ${ts('created_ts')}, balance_delta_centicents, locked_balance_delta_centicents, reason) AS line FROM klear_balance_history`,
    ),
    // The latest report per (date, type), as the truth has one file per date and type.
    reports:
      await q(`SELECT DISTINCT ON (report_date, report_type) concat_ws('|', report_date::text, report_type, file_sha256, file_size) AS line
                        FROM klear_margin_report ORDER BY report_date, report_type, created_ts DESC`),
    large_trader:
      await q(`SELECT DISTINCT ON (s.report_date) s.report_date::text || ':' || coalesce((SELECT string_agg(p.market_ticker || '=' || p.position, ',' ORDER BY p.market_ticker || '=' || p.position)
                             FROM klear_large_trader_position p WHERE p.snapshot_id = s.id), '') AS line
                             FROM klear_large_trader_snapshot s ORDER BY s.report_date, s.pulled_at DESC, s.id DESC`),
    current: [
      `active=${active?.obligation_id ?? 'none'}`,
      `balance=${balance?.available_centicents}/${balance?.locked_centicents}`,
      `guaranty_fund=${fund?.amount_centicents}`,
    ].sort(),
  };
}
