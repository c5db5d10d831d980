import { useQuery } from '@tanstack/react-query';
import type { FormEvent } from 'react';
import { get } from '../api';
import { ErrorNote } from '../components';
import { formatCenticents } from '../money';
import { navigate, useRoute } from '../router';

interface Observation {
  break_id: string;
  key: string;
  check: string;
  subtrader_id: string | null;
  reason_code: string;
  difference_centicents: string;
  status: string;
}

interface Comparison {
  run_id: string;
  other_run_id: string;
  same_inputs: boolean;
  only_in_run: Observation[];
  only_in_other: Observation[];
  changed: Array<{ key: string; run: Observation; other: Observation }>;
  unchanged_count: number;
}

const runId = (text: string | null) => (text ?? '').trim().replace(/^#/, '');

/**
 * Two runs side by side (GET /reconciliations/{a}/compare/{b}): the breaks new in B, gone since A,
 * and changed (reason or figures). The pair is in the URL (#/runs?a=1&b=2), so a comparison can be
 * shared and reloaded.
 */
export function RunCompare() {
  const { query } = useRoute();
  const a = runId(query.get('a'));
  const b = runId(query.get('b'));
  const ready = /^\d+$/.test(a) && /^\d+$/.test(b);
  const comparison = useQuery({ queryKey: ['run-compare', a, b], queryFn: () => get<Comparison>(`/reconciliations/${a}/compare/${b}`), enabled: ready });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    navigate(`/runs?${new URLSearchParams({ a: runId(String(form.get('a'))), b: runId(String(form.get('b'))) }).toString()}`);
  };
  const c = comparison.data;
  return (
    <>
      <h2>Compare two runs</h2>
      <form className="filters" aria-label="Compare two runs" onSubmit={submit} key={`${a}-${b}`}>
        <label>
          Run A (before)
          <input name="a" defaultValue={a} inputMode="numeric" pattern="#?\d{1,18}" required size={8} />
        </label>
        <label>
          Run B (after)
          <input name="b" defaultValue={b} inputMode="numeric" pattern="#?\d{1,18}" required size={8} />
        </label>
        <button type="submit">Compare</button>
      </form>
      <ErrorNote error={comparison.error} />
      {c && (
        <div aria-live="polite">
          <p role="status">
            Run #{c.run_id} → run #{c.other_run_id}: {c.only_in_other.length} new, {c.only_in_run.length} gone, {c.changed.length} changed, {c.unchanged_count} unchanged
            {c.same_inputs ? ' (same inputs)' : ''}.
          </p>
          <BreakList title={`New in run #${c.other_run_id}`} rows={c.only_in_other} />
          <BreakList title={`Gone since run #${c.run_id}`} rows={c.only_in_run} />
          <ChangedList a={c.run_id} b={c.other_run_id} rows={c.changed} />
        </div>
      )}
    </>
  );
}

interface Line {
  key: string;
  break: Observation;
  reason: string;
  difference: string;
}

/** One list of breaks; on a phone it scrolls sideways, so it is a focusable, named region (keyboard users can scroll it). */
function BreakTable({ caption, headings, lines }: { caption: string; headings: [string, string]; lines: Line[] }) {
  return (
    <div className="table-wrap" role="region" aria-label={caption} tabIndex={0}>
      <table className="table">
        <caption>
          {caption} ({lines.length})
        </caption>
        <thead>
          <tr>
            <th scope="col">Break</th>
            <th scope="col">Check</th>
            <th scope="col">Subtrader</th>
            <th scope="col">{headings[0]}</th>
            <th scope="col" className="num">
              {headings[1]}
            </th>
          </tr>
        </thead>
        <tbody>
          {lines.map((l) => (
            <tr key={l.key}>
              <td>
                <a href={`#/breaks/${l.break.break_id}`}>#{l.break.break_id}</a>
              </td>
              <td>{l.break.check}</td>
              <td>{l.break.subtrader_id ?? '—'}</td>
              <td>{l.reason}</td>
              <td className="num">{l.difference}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function BreakList({ title, rows }: { title: string; rows: Observation[] }) {
  return (
    <BreakTable caption={title} headings={['Reason', 'Difference']} lines={rows.map((o) => ({ key: o.key, break: o, reason: o.reason_code, difference: formatCenticents(o.difference_centicents) }))} />
  );
}

function ChangedList({ a, b, rows }: { a: string; b: string; rows: Comparison['changed'] }) {
  const lines = rows.map((x) => ({
    key: x.key,
    break: x.other,
    reason: x.run.reason_code === x.other.reason_code ? x.other.reason_code : `${x.run.reason_code} → ${x.other.reason_code}`,
    difference: `${formatCenticents(x.run.difference_centicents)} → ${formatCenticents(x.other.difference_centicents)}`,
  }));
  return <BreakTable caption={`Changed between run #${a} and run #${b}`} headings={['Reason A → B', 'Difference A → B']} lines={lines} />;
}
