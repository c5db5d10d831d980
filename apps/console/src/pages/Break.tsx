import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { FormEvent } from 'react';
import { get, post } from '../api';
import { ErrorNote, Field, Page, Time } from '../components';
import { formatCenticents } from '../money';
import { hasRole, useSession } from '../session';
import type { BreakRow } from './Breaks';

interface BreakDetail extends BreakRow {
  key: string;
  reference: string | null;
  resolution: { reason: string; reference: string | null; note: string | null; resolved_by: string | null; cosigned_by: string | null } | null;
  observations: Array<{ run_id: string; ordinal: number; status: string; klear_value_centicents: string | null; internal_value_centicents: string | null; difference_centicents: string | null; klear_rows: unknown; internal_rows: unknown }>;
  comments: Array<{ id: string; author: string; body: string; created_at: string }>;
}

/** One break: both figures, the difference, its history across runs, and the work on it. */
export default function BreakPage({ id }: { id: string }) {
  const { session } = useSession();
  const client = useQueryClient();
  const q = useQuery({ queryKey: ['break', id], queryFn: () => get<BreakDetail>(`/breaks/${id}`) });
  const act = useMutation({
    mutationFn: ({ path, body }: { path: string; body: unknown }) => post<BreakDetail>(`/breaks/${id}/${path}`, body),
    onSuccess: (data) => {
      client.setQueryData(['break', id], data);
      void client.invalidateQueries({ queryKey: ['breaks'] });
    },
  });
  const form = (path: string, build: (f: FormData) => unknown) => (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const target = e.currentTarget;
    act.mutate({ path, body: build(new FormData(target)) }, { onSuccess: () => target.reset() });
  };
  const b = q.data;
  const operator = hasRole(session, 'operator');
  return (
    <Page title={`Break #${id}`}>
      <ErrorNote error={q.error} />
      {b && (
        <>
          <dl className="facts">
            <Field label="Check">{b.check}</Field>
            <Field label="Status">
              <strong>{b.status}</strong>
            </Field>
            <Field label="Subtrader">{b.subtrader_id ?? '—'}</Field>
            <Field label="Market">{b.market_ticker ?? '—'}</Field>
            <Field label="Cycle">
              <Time iso={b.cycle} />
            </Field>
            <Field label="Klear">{formatCenticents(b.klear_value_centicents)}</Field>
            <Field label="Internal">{formatCenticents(b.internal_value_centicents)}</Field>
            <Field label="Difference">
              <strong>{formatCenticents(b.difference_centicents)}</strong>
            </Field>
            <Field label="Reason">{b.reason_code}</Field>
            <Field label="Assignee">{b.assignee ?? '—'}</Field>
            {b.resolution && (
              <Field label="Resolution">
                {b.resolution.reason} {b.resolution.reference ?? ''} by {b.resolution.resolved_by}
                {b.resolution.cosigned_by ? `, co-signed by ${b.resolution.cosigned_by}` : ''}
              </Field>
            )}
          </dl>
          <ErrorNote error={act.error} />
          {operator && (
            <div className="actions">
              <button type="button" disabled={b.status !== 'open' || act.isPending} onClick={() => act.mutate({ path: 'acknowledge', body: {} })}>
                Acknowledge
              </button>
              <form onSubmit={form('assign', (f) => ({ assignee: f.get('assignee') }))} className="inline">
                <label>
                  Assignee
                  <input name="assignee" required defaultValue={b.assignee ?? session.user.name} />
                </label>
                <button type="submit">Assign</button>
              </form>
              <form onSubmit={form('comments', (f) => ({ body: f.get('body') }))} className="inline">
                <label>
                  Comment
                  <input name="body" required />
                </label>
                <button type="submit">Add comment</button>
              </form>
              <form
                className="inline"
                onSubmit={form('resolve', (f) => {
                  const reason = String(f.get('reason'));
                  return { reason, reference: f.get('reference') || undefined, note: f.get('note') || undefined, difference_centicents: reason === 'write_off' ? b.difference_centicents : undefined };
                })}
              >
                <label>
                  Resolve as
                  <select name="reason" defaultValue="timing">
                    <option value="timing">timing</option>
                    <option value="adjustment_booked">adjustment booked</option>
                    <option value="klear_error">Klear error</option>
                    <option value="write_off">write-off (needs a co-sign)</option>
                  </select>
                </label>
                <label>
                  Reference
                  <input name="reference" />
                </label>
                <label>
                  Note
                  <input name="note" />
                </label>
                <button type="submit" disabled={b.status === 'resolved' || b.status === 'closed'}>
                  Resolve
                </button>
              </form>
            </div>
          )}
          {hasRole(session, 'approver') && b.status === 'pending_write_off' && (
            <button type="button" onClick={() => act.mutate({ path: 'cosign', body: { difference_centicents: b.difference_centicents } })}>
              Co-sign write-off of {formatCenticents(b.difference_centicents)}
            </button>
          )}
          <h2>History across runs</h2>
          <ol className="timeline">
            {b.observations.map((o) => (
              <li key={`${o.run_id}-${o.ordinal}`}>
                run #{o.run_id} ({o.status}): Klear {formatCenticents(o.klear_value_centicents)}, internal {formatCenticents(o.internal_value_centicents)}, difference{' '}
                {formatCenticents(o.difference_centicents)}
                <details>
                  <summary>Rows behind it</summary>
                  <pre className="rows">{JSON.stringify({ klear: o.klear_rows, internal: o.internal_rows }, null, 2)}</pre>
                </details>
              </li>
            ))}
          </ol>
          <h2>Comments</h2>
          <ul className="plain">
            {b.comments.map((c) => (
              <li key={c.id}>
                <Time iso={c.created_at} /> <strong>{c.author}</strong>: {c.body}
              </li>
            ))}
          </ul>
        </>
      )}
    </Page>
  );
}
