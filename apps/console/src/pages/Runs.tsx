import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { get, post, qs } from '../api';
import { CursorTable, ErrorNote, Page, Time } from '../components';
import { hasRole, useSession } from '../session';
import { RunCompare } from './RunCompare';

export interface RunRow {
  id: string;
  scope: string;
  cycle: string | null;
  asset_class: string | null;
  status: string;
  break_count: number;
  started_at: string;
  created_by: string;
  error?: unknown;
}

export default function RunsPage() {
  const { session } = useSession();
  return (
    <Page title="Reconciliation runs">
      {hasRole(session, 'operator') && <RunNow />}
      <CursorTable<RunRow>
        label="Reconciliation runs"
        queryKey={['runs']}
        path={(cursor) => `/reconciliations${qs({ cursor, limit: 100 })}`}
        rowKey={(r) => r.id}
        columns={[
          { key: 'id', header: 'Run', width: '5rem', cell: (r) => `#${r.id}` },
          { key: 'scope', header: 'Scope', width: '6rem', cell: (r) => r.scope },
          { key: 'cycle', header: 'Cycle', width: 'minmax(10rem, 1fr)', cell: (r) => (r.scope === 'projected' ? 'open cycle (projected)' : <Time iso={r.cycle} />) },
          { key: 'asset_class', header: 'Asset class', width: '7rem', cell: (r) => r.asset_class ?? '' },
          { key: 'status', header: 'Status', width: '7rem', cell: (r) => r.status },
          { key: 'breaks', header: 'Breaks', width: '5rem', numeric: true, cell: (r) => r.break_count },
          { key: 'by', header: 'By', width: '8rem', cell: (r) => r.created_by },
        ]}
      />
      <RunCompare />
    </Page>
  );
}

interface ObligationRow {
  id: string;
  asset_class: string;
  execution_time: string;
}

/** The cycles (Klear execution times) with an ingested obligation, newest first; one entry per cycle. */
function cyclesOf(rows: ObligationRow[]): Array<{ cycle: string; classes: string[] }> {
  const byCycle = new Map<string, string[]>();
  for (const o of rows) byCycle.set(o.execution_time, [...(byCycle.get(o.execution_time) ?? []), o.asset_class]);
  return [...byCycle].map(([cycle, classes]) => ({ cycle, classes }));
}

/** What a run's line says it covered: the cycle (or the projection) and the asset class. */
function runTarget(r: RunRow): string {
  const what = r.scope === 'projected' ? 'open cycle, projected' : (r.cycle ?? '');
  return r.asset_class ? `${what}, ${r.asset_class}` : what;
}

/**
 * POST /reconciliations takes exactly one of { cycle }, { date } or { projected: true }, and the asset
 * class: every run covers one. The form picks a cycle (narrowed by an optional settlement day, ET)
 * and one of its asset classes and posts { cycle, asset_class }: a day with two cycles would be
 * refused with { date }. The projection of the open cycle is its own button, for the chosen class.
 */
function RunNow() {
  const client = useQueryClient();
  const [day, setDay] = useState('');
  const [chosen, setChosen] = useState('');
  const obligations = useQuery({
    queryKey: ['obligation-cycles', day],
    queryFn: () => get<{ data: ObligationRow[] }>(`/obligations${qs({ from: day || undefined, to: day || undefined, limit: 100 })}`),
  });
  const cycles = cyclesOf(obligations.data?.data ?? []);
  const [chosenClass, setChosenClass] = useState('');
  const cycle = cycles.some((c) => c.cycle === chosen) ? chosen : (cycles[0]?.cycle ?? '');
  const classes = cycles.find((c) => c.cycle === cycle)?.classes ?? [];
  const assetClass = classes.includes(chosenClass) ? chosenClass : (classes[0] ?? '');
  const run = useMutation({
    mutationFn: (body: { cycle: string; asset_class?: string } | { projected: true; asset_class?: string }) => post<RunRow>('/reconciliations', body),
    onSuccess: () => void client.invalidateQueries({ queryKey: ['runs'] }),
  });
  const withClass = assetClass ? { asset_class: assetClass } : {};
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (cycle) run.mutate({ cycle, ...withClass });
  };
  return (
    <>
      <form className="filters" aria-label="Run a reconciliation" onSubmit={submit}>
        <label>
          Settlement day (ET, optional)
          <input type="date" value={day} onChange={(e) => setDay(e.target.value)} />
        </label>
        <label>
          Cycle
          <select value={cycle} onChange={(e) => setChosen(e.target.value)} required>
            {cycles.length === 0 && <option value="">{obligations.isPending ? 'Loading cycles…' : 'No ingested cycle'}</option>}
            {cycles.map((c) => (
              <option key={c.cycle} value={c.cycle}>
                {c.cycle.replace('T', ' ').replace(/\.\d+Z$/, 'Z')} ({c.classes.join(', ')})
              </option>
            ))}
          </select>
        </label>
        <label>
          Asset class
          <select value={assetClass} onChange={(e) => setChosenClass(e.target.value)}>
            {classes.length === 0 && <option value="">—</option>}
            {classes.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="primary" disabled={run.isPending || !cycle}>
          Run now
        </button>
        <button type="button" disabled={run.isPending} onClick={() => run.mutate({ projected: true, ...withClass })}>
          Project the open cycle
        </button>
      </form>
      <ErrorNote error={obligations.error ?? run.error} />
      <p role="status" className="notice">
        {run.isPending ? 'Running…' : run.data ? `Run #${run.data.id} (${runTarget(run.data)}): ${run.data.status}, ${run.data.break_count} breaks.` : ''}
      </p>
    </>
  );
}
