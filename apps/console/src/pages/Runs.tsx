import { useMutation, useQueryClient } from '@tanstack/react-query';
import { post, qs } from '../api';
import { CursorTable, ErrorNote, Page, Time } from '../components';
import { hasRole, useSession } from '../session';

interface RunRow {
  id: string;
  scope: string;
  cycle: string | null;
  status: string;
  break_count: number;
  started_at: string;
  created_by: string;
}

export default function RunsPage() {
  const { session } = useSession();
  const client = useQueryClient();
  const run = useMutation({ mutationFn: () => post('/reconciliations', {}), onSuccess: () => void client.invalidateQueries({ queryKey: ['runs'] }) });
  return (
    <Page
      title="Reconciliation runs"
      actions={
        hasRole(session, 'operator') && (
          <button type="button" onClick={() => run.mutate()} disabled={run.isPending}>
            Run now
          </button>
        )
      }
    >
      <ErrorNote error={run.error} />
      <CursorTable<RunRow>
        label="Reconciliation runs"
        queryKey={['runs']}
        path={(cursor) => `/reconciliations${qs({ cursor, limit: 100 })}`}
        rowKey={(r) => r.id}
        columns={[
          { key: 'id', header: 'Run', width: '5rem', cell: (r) => `#${r.id}` },
          { key: 'cycle', header: 'Cycle', width: 'minmax(10rem, 1fr)', cell: (r) => <Time iso={r.cycle} /> },
          { key: 'status', header: 'Status', width: '7rem', cell: (r) => r.status },
          { key: 'breaks', header: 'Breaks', width: '5rem', numeric: true, cell: (r) => r.break_count },
          { key: 'by', header: 'By', width: '8rem', cell: (r) => r.created_by },
        ]}
      />
    </Page>
  );
}
