import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { get, post } from '../api';
import { ErrorNote, Page, Time } from '../components';
import { hasRole, useSession } from '../session';

interface JobRow {
  name: string;
  description: string;
  schedule: string;
  enabled: boolean;
  last_run: { status: string; started_at: string; error: string | null } | null;
  last_success: { started_at: string } | null;
}

export default function JobsPage() {
  const { session } = useSession();
  const client = useQueryClient();
  const q = useQuery({ queryKey: ['jobs'], queryFn: () => get<{ data: JobRow[] }>('/jobs'), refetchInterval: 15_000 });
  const run = useMutation({ mutationFn: (name: string) => post(`/jobs/${name}/run`, {}), onSuccess: () => void client.invalidateQueries({ queryKey: ['jobs'] }) });
  return (
    <Page title="Jobs">
      <ErrorNote error={q.error ?? run.error} />
      <table className="table">
        <caption className="sr-only">Scheduled jobs</caption>
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Schedule (UTC)</th>
            <th scope="col">Last run</th>
            <th scope="col">Last success</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {q.data?.data.map((j) => (
            <tr key={j.name}>
              <th scope="row">{j.name}</th>
              <td>{j.enabled ? j.schedule : 'disabled'}</td>
              <td className={j.last_run?.status === 'failed' ? 'error' : undefined}>
                {j.last_run ? j.last_run.status : 'never'} <Time iso={j.last_run?.started_at} />
              </td>
              <td>
                <Time iso={j.last_success?.started_at} />
              </td>
              <td>
                {hasRole(session, 'operator') && (
                  <button type="button" onClick={() => run.mutate(j.name)} aria-label={`Run ${j.name} now`}>
                    Run now
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Page>
  );
}
