import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { post, qs } from '../api';
import { CursorTable, ErrorNote, Page } from '../components';
import { formatCenticents } from '../money';
import { navigate, useRoute } from '../router';
import { hasRole, useSession } from '../session';

export interface BreakRow {
  id: string;
  check: string;
  cycle: string | null;
  subtrader_id: string | null;
  market_ticker: string | null;
  reason_code: string;
  klear_value_centicents: string | null;
  internal_value_centicents: string | null;
  difference_centicents: string | null;
  status: string;
  assignee: string | null;
  first_seen_run: string;
}

const CHECKS = ['', 'settlement_details', 'maintenance_margin', 'klear_consistency', 'settlement_buffer', 'projected'];
const STATUSES = ['', 'open', 'acknowledged', 'pending_write_off', 'resolved', 'closed'];

/** The breaks worklist: filters live in the URL (#/breaks?status=open&check=...), paging is server-side. */
export function breakFilters(query: URLSearchParams) {
  return { status: query.get('status') ?? 'open', check: query.get('check') ?? '', subtrader: query.get('subtrader') ?? '', assignee: query.get('assignee') ?? '' };
}

export const breaksPath = (filters: ReturnType<typeof breakFilters>) => (cursor: string | null) => `/breaks${qs({ ...filters, cursor, limit: 200 })}`;

export default function BreaksPage() {
  const { query } = useRoute();
  const { session } = useSession();
  const client = useQueryClient();
  const filters = breakFilters(query);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const toggle = (id: string) =>
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const apply = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    navigate(`/breaks${qs({ status: String(f.get('status') ?? ''), check: String(f.get('check') ?? ''), subtrader: String(f.get('subtrader') ?? ''), assignee: String(f.get('assignee') ?? '') }) || '?status='}`);
  };
  const bulk = useMutation({
    mutationFn: async (assignee: string) => {
      for (const id of selected) await post(`/breaks/${id}/assign`, { assignee });
    },
    onSuccess: () => {
      setSelected(new Set());
      void client.invalidateQueries({ queryKey: ['breaks'] });
    },
  });
  return (
    <Page title="Breaks worklist">
      <form className="filters" onSubmit={apply} aria-label="Filter breaks">
        <label>
          Status
          <select name="status" defaultValue={filters.status}>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s || 'any'}
              </option>
            ))}
          </select>
        </label>
        <label>
          Check
          <select name="check" defaultValue={filters.check}>
            {CHECKS.map((c) => (
              <option key={c} value={c}>
                {c || 'any'}
              </option>
            ))}
          </select>
        </label>
        <label>
          Subtrader
          <input name="subtrader" defaultValue={filters.subtrader} />
        </label>
        <label>
          Assignee
          <input name="assignee" defaultValue={filters.assignee} />
        </label>
        <button type="submit">Filter</button>
      </form>
      {hasRole(session, 'operator') && (
        <form
          className="filters"
          aria-label="Bulk assign"
          onSubmit={(e) => {
            e.preventDefault();
            bulk.mutate(String(new FormData(e.currentTarget).get('assignee') ?? ''));
          }}
        >
          <label>
            Assign {selected.size} selected to
            <input name="assignee" required defaultValue={session.user.name} />
          </label>
          <button type="submit" disabled={selected.size === 0 || bulk.isPending}>
            Assign selected
          </button>
          <ErrorNote error={bulk.error} />
        </form>
      )}
      <CursorTable<BreakRow>
        label="Breaks"
        queryKey={['breaks', filters]}
        path={breaksPath(filters)}
        rowKey={(r) => r.id}
        selection={hasRole(session, 'operator') ? { selected, toggle } : undefined}
        columns={[
          { key: 'id', header: 'Break', width: '5rem', cell: (r) => <a href={`#/breaks/${r.id}`}>#{r.id}</a> },
          { key: 'check', header: 'Check', width: 'minmax(8rem, 1fr)', cell: (r) => r.check },
          { key: 'sub', header: 'Subtrader', width: '8rem', cell: (r) => (r.subtrader_id ? <a href={`#/subtraders/${encodeURIComponent(r.subtrader_id)}`}>{r.subtrader_id}</a> : '—') },
          { key: 'diff', header: 'Difference', width: '9rem', numeric: true, cell: (r) => formatCenticents(r.difference_centicents) },
          { key: 'status', header: 'Status', width: '8rem', cell: (r) => r.status },
          { key: 'assignee', header: 'Assignee', width: '8rem', cell: (r) => r.assignee ?? '—' },
        ]}
      />
    </Page>
  );
}
