import type { ExportFileRepository } from '@app/exports';
import { ADMIN_TOKEN_HEADER, type RunningKlearSimulator } from '@apps/klear-sim';
import type { ApiCaller } from './api-caller';

/** The ingestion jobs, in the order a first pull needs them. */
const INGESTION_JOBS = [
  'obligation_history',
  'active_obligation',
  'settlement_estimate',
  'settlement_balance',
  'balance_history',
  'margin_reports',
  'guaranty_fund',
  'large_trader_positions',
  'subtrader_groups',
  'settlement_prices',
  'member_funding',
  'withdrawal_status',
];

/** The discrepancies the demo's ledger feed carries: the breaks a newcomer should find. */
const DEMO_DISCREPANCIES = [
  'missing_fee',
  'pnl_off_by_one',
  'unknown_subtrader',
  'missing_buffer_movement',
  'wrong_margin',
  'missing_funding',
];

interface ObligationListed {
  id: string;
  execution_time: string;
  asset_class: string;
  funding_centicents: string;
  funding_usd: string;
  funding_payment_count: number;
  completed_from_paged_endpoints: string[];
  settlement_detail_count: number;
}

export interface StoryTokens {
  operator: string;
  viewer: string;
}

export interface StoryOutcome {
  obligations: number;
  ledger: { entries: number; created: number; unchanged: number };
  cycles: number;
  breaksByCheck: Record<string, number>;
  openBreaks: number;
  /** The latest day's workbook (the one printed), and every day's Breaks-sheet row count. */
  workbook: { date: string; path: string; version: number } | null;
  workbooks: Array<{ date: string; version: number; breakRows: number }>;
  withdrawal: { id: string; amount: string; state: string; approvalsRequired: number };
  /** The live API's shapes as held: asset classes, funding, a netted group, an obligation completed from its pages. */
  live: {
    assetClasses: string[];
    funding: { payments: number; obligations: number; latest: { id: string; usd: string; payments: number } | null };
    group: { id: string; members: string[]; marginUsd: string | null } | null;
    truncated: { id: string; assetClass: string; details: number; lists: string[] } | null;
    truncatedCount: number;
  };
  /** Klear's active obligation(s) as the product holds them, one line. */
  activeObligation: string;
  /** The margin reports held (GET /reports): how many, and the days of the oldest and newest. */
  marginReports: { count: number; oldest: string | null; newest: string | null };
}

interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

async function readAll<T>(api: ApiCaller, token: string, path: string): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page: Page<T> = await api.expectOk<Page<T>>(token, 'GET', `${path}${sep}limit=500${cursor ? `&cursor=${cursor}` : ''}`);
    out.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor);
  return out;
}

/** One line naming Klear's active obligations as the product holds them (GET /obligations/active). */
async function activeObligationsText(api: ApiCaller, token: string, nowMs: number): Promise<string> {
  const active = await api.expectOk<{
    obligations: Array<{ id: string; asset_class: string | null; execution_time: string; amount_usd: string | null }>;
  }>(token, 'GET', '/obligations/active');
  if (active.obligations.length === 0) return 'none pending';
  const et = (iso: string) =>
    new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York', dateStyle: 'short', timeStyle: 'short', hourCycle: 'h23' }).format(
      new Date(iso),
    );
  return active.obligations
    .map(
      (o) =>
        `${o.asset_class ?? 'all'} ${o.id}: cycle ${et(o.execution_time)} ET${Date.parse(o.execution_time) > nowMs ? ' (open: executes then)' : ' (executed, payment pending)'}, amount ${o.amount_usd ?? '?'}`,
    )
    .join('; ');
}

/**
 * The whole daily routine, through the product's own API: pull everything from Klear, import the
 * firm's ledger (with a few discrepancies), reconcile every cycle, build each reconciled day's
 * workbook (the discrepancies fall on different days), and leave a withdrawal waiting for two
 * approvers. Safe to run again on the same data directory: days that have a workbook keep it, the
 * latest day gets a new version.
 */
export async function runDemoStory(
  api: ApiCaller,
  sim: RunningKlearSimulator,
  tokens: StoryTokens,
  exportFiles: ExportFileRepository,
  step: (text: string) => void,
  runId: string,
): Promise<StoryOutcome> {
  for (const job of INGESTION_JOBS) {
    const run = await api.expectOk<{ outcome?: string; run?: { status?: string; items_written?: number } }>(
      tokens.operator,
      'POST',
      `/jobs/${job}/run?wait=true`,
    );
    step(`ingested ${job}: ${run.run?.status ?? run.outcome ?? 'done'}`);
  }
  const obligations = await readAll<ObligationListed>(api, tokens.viewer, '/obligations');
  step(`obligations held: ${obligations.length}`);
  const live = await liveApiFacts(api, tokens.viewer, obligations);
  const active = await activeObligationsText(api, tokens.viewer, sim.context.state.now());
  step(`active obligation: ${active}`);
  const reports = (await readAll<{ date: string }>(api, tokens.viewer, '/reports')).map((r) => r.date).sort();
  const marginReports = { count: reports.length, oldest: reports[0] ?? null, newest: reports[reports.length - 1] ?? null };

  const feed = await fetch(`${sim.adminUrl}/ledger-feed`, {
    method: 'POST',
    headers: { [ADMIN_TOKEN_HEADER]: sim.options.adminToken, 'Content-Type': 'application/json' },
    body: JSON.stringify({ format: 'csv', discrepancies: DEMO_DISCREPANCIES.map((kind) => ({ kind })) }),
  });
  if (!feed.ok) throw new Error(`the simulator's ledger feed answered ${feed.status}`);
  const csv = await feed.text();
  const form = new FormData();
  form.append('file', new Blob([csv], { type: 'text/csv' }), 'demo-ledger.csv');
  const imported = await api.expectOk<{
    counts?: { entries?: number; created?: number; unchanged?: number };
    created?: number;
    unchanged?: number;
    entries?: number;
  }>(tokens.operator, 'POST', '/ledger/imports', form);
  const counts = imported.counts ?? imported;
  const ledger = { entries: Number(counts.entries ?? 0), created: Number(counts.created ?? 0), unchanged: Number(counts.unchanged ?? 0) };
  step(`ledger imported: ${ledger.created} new entries, ${ledger.unchanged} already held`);

  // Executed cycles only (by Klear's clock): the open cycle's active obligation is not final yet (the projected run covers it).
  const cycles = [...new Set(obligations.map((o) => o.execution_time))]
    .filter((cycle) => Date.parse(cycle) <= sim.context.state.now())
    .sort();
  // One run per asset class of each cycle (each class settles on its own obligation).
  for (const cycle of cycles) {
    for (const assetClass of [...new Set(obligations.filter((o) => o.execution_time === cycle).map((o) => o.asset_class))].sort()) {
      await api.expectOk(tokens.operator, 'POST', '/reconciliations', { cycle, asset_class: assetClass });
    }
  }
  const open = await readAll<{ check: string }>(api, tokens.viewer, '/breaks?status=open');
  const breaksByCheck: Record<string, number> = {};
  for (const b of open) breaksByCheck[b.check] = (breaksByCheck[b.check] ?? 0) + 1;
  step(`reconciled ${cycles.length} cycles: ${open.length} open breaks`);

  let workbook: StoryOutcome['workbook'] = null;
  const workbooks: StoryOutcome['workbooks'] = [];
  const etDate = (cycle: string) => new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York' }).format(new Date(cycle));
  const dates = [...new Set(cycles.map(etDate))];
  const held = new Set((await readAll<{ date: string }>(api, tokens.viewer, '/exports')).map((e) => e.date));
  for (const date of dates) {
    if (held.has(date) && date !== dates[dates.length - 1]) continue;
    const built = await api.expectOk<{ id: string; version: number; row_counts: Record<string, number> }>(
      tokens.operator,
      'POST',
      '/exports',
      { date },
    );
    workbooks.push({ date, version: built.version, breakRows: built.row_counts.Breaks ?? 0 });
    if (date === dates[dates.length - 1]) {
      const file = await exportFiles.find(built.id);
      if (!file) throw new Error(`workbook ${built.id} was built but has no export_file row`);
      workbook = { date, path: file.filePath, version: built.version };
    }
  }
  if (workbooks.length) step(`workbooks built: ${workbooks.map((w) => `${w.date} v${w.version} (${w.breakRows} breaks)`).join(', ')}`);

  const amount = '250000.00';
  const request = await api.expectOk<{ id: string; state: string; approvals_required?: number; required_approvals?: number }>(
    tokens.operator,
    'POST',
    '/withdrawals',
    { amount, purpose: 'Demo: sweep excess settlement buffer to the operating account' },
    // One new request per demo run (the key names the run): each run has a withdrawal to approve.
    { 'Idempotency-Key': `demo-sweep-${runId}` },
  );
  step(`withdrawal of $${amount} requested: ${request.state}`);
  return {
    obligations: obligations.length,
    ledger,
    cycles: cycles.length,
    breaksByCheck,
    openBreaks: open.length,
    workbook,
    workbooks,
    withdrawal: {
      id: request.id,
      amount,
      state: request.state,
      approvalsRequired: Number(request.approvals_required ?? request.required_approvals ?? 2),
    },
    live,
    activeObligation: active,
    marginReports,
  };
}

/** What the demo shows of the live API, read back through the product's own routes. */
async function liveApiFacts(api: ApiCaller, viewer: string, obligations: ObligationListed[]): Promise<StoryOutcome['live']> {
  const withFunding = obligations.filter((o) => o.funding_payment_count > 0);
  const latest = [...withFunding].sort((a, b) => b.execution_time.localeCompare(a.execution_time) || a.id.localeCompare(b.id))[0];
  const completed = obligations.filter((o) => o.completed_from_paged_endpoints.length > 0);
  const truncated = [...completed].sort((a, b) => b.execution_time.localeCompare(a.execution_time) || a.id.localeCompare(b.id))[0];
  const groups = await readAll<{
    group_id: string;
    member_subtrader_ids: string[];
    latest_margin: { maintenance_margin_usd?: string } | null;
  }>(api, viewer, '/subtrader-groups');
  return {
    assetClasses: [...new Set(obligations.map((o) => o.asset_class))].sort(),
    funding: {
      payments: withFunding.reduce((n, o) => n + o.funding_payment_count, 0),
      obligations: withFunding.length,
      latest: latest ? { id: latest.id, usd: latest.funding_usd, payments: latest.funding_payment_count } : null,
    },
    group: groups[0]
      ? {
          id: groups[0].group_id,
          members: groups[0].member_subtrader_ids,
          marginUsd: groups[0].latest_margin?.maintenance_margin_usd ?? null,
        }
      : null,
    truncated: truncated
      ? {
          id: truncated.id,
          assetClass: truncated.asset_class,
          details: truncated.settlement_detail_count,
          lists: truncated.completed_from_paged_endpoints,
        }
      : null,
    truncatedCount: completed.length,
  };
}
