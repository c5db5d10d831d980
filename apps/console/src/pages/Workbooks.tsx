import { useMutation, useQueryClient } from '@tanstack/react-query';
import { post, qs } from '../api';
import { CursorTable, ErrorNote, Page, Time } from '../components';
import { hasRole, useSession } from '../session';

interface FileRow {
  id: string;
  date: string;
  version: number;
  file_name: string;
  size_bytes: string | number;
  created_at: string;
  download_url: string;
}

export default function WorkbooksPage() {
  const { session } = useSession();
  const client = useQueryClient();
  const build = useMutation({ mutationFn: (date: string) => post('/exports', { date }), onSuccess: () => void client.invalidateQueries({ queryKey: ['exports'] }) });
  return (
    <Page title="Workbooks">
      {hasRole(session, 'operator') && (
        <form
          className="filters"
          aria-label="Build a workbook"
          onSubmit={(e) => {
            e.preventDefault();
            build.mutate(String(new FormData(e.currentTarget).get('date')));
          }}
        >
          <label>
            Settlement day
            <input type="date" name="date" required />
          </label>
          <button type="submit" disabled={build.isPending}>
            Build now
          </button>
        </form>
      )}
      <ErrorNote error={build.error} />
      <CursorTable<FileRow>
        label="Workbooks"
        queryKey={['exports']}
        path={(cursor) => `/exports${qs({ cursor, limit: 100 })}`}
        rowKey={(r) => r.id}
        columns={[
          { key: 'date', header: 'Day', width: '7rem', cell: (r) => r.date },
          { key: 'v', header: 'Version', width: '5rem', numeric: true, cell: (r) => r.version },
          {
            key: 'file',
            header: 'File',
            width: 'minmax(12rem, 1fr)',
            cell: (r) => (
              <a href={r.download_url} download={r.file_name}>
                {r.file_name}
              </a>
            ),
          },
          { key: 'at', header: 'Built', width: '12rem', cell: (r) => <Time iso={r.created_at} /> },
        ]}
      />
    </Page>
  );
}
