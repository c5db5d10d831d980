import { useQuery } from '@tanstack/react-query';
import { get } from '../api';
import { ErrorNote, Field, Page, Time } from '../components';
import { formatCenticents } from '../money';

interface JobRow {
  name: string;
  enabled: boolean;
  last_run: { status: string; started_at: string } | null;
  last_success: { started_at: string } | null;
}

function useJson<T>(key: string, path: string) {
  return useQuery({ queryKey: ['today', key], queryFn: () => get<T>(path), refetchInterval: 30_000 });
}

/** The morning view: obligation, estimate, buffer, open breaks by check, job health. */
export default function TodayPage() {
  const obligation = useJson<Record<string, unknown>>('obligation', '/obligations/active');
  const balance = useJson<Record<string, unknown>>('balance', '/settlement/balance');
  const estimate = useJson<Record<string, unknown>>('estimate', '/settlement/estimate');
  const breaks = useJson<{ data: Array<{ check: string }>; next_cursor: string | null }>('breaks', '/breaks?status=open&limit=500');
  const jobs = useJson<{ data: JobRow[] }>('jobs', '/jobs');
  const byCheck = new Map<string, number>();
  for (const b of breaks.data?.data ?? []) byCheck.set(b.check, (byCheck.get(b.check) ?? 0) + 1);
  return (
    <Page title="Today">
      <div className="grid">
        <section className="card" aria-labelledby="t-obl">
          <h2 id="t-obl">Active obligation</h2>
          <ErrorNote error={obligation.error} />
          <Figures data={obligation.data} />
        </section>
        <section className="card" aria-labelledby="t-est">
          <h2 id="t-est">Settlement estimate</h2>
          <ErrorNote error={estimate.error} />
          <Figures data={estimate.data} />
        </section>
        <section className="card" aria-labelledby="t-buf">
          <h2 id="t-buf">Settlement buffer</h2>
          <ErrorNote error={balance.error} />
          <Figures data={balance.data} />
        </section>
        <section className="card" aria-labelledby="t-brk">
          <h2 id="t-brk">Open breaks by check</h2>
          <ErrorNote error={breaks.error} />
          <dl className="facts">
            {[...byCheck].map(([check, n]) => (
              <Field key={check} label={check}>
                <a href={`#/breaks?status=open&check=${check}`}>{n}</a>
              </Field>
            ))}
            {byCheck.size === 0 && <Field label="Open breaks">none</Field>}
          </dl>
        </section>
        <section className="card" aria-labelledby="t-jobs">
          <h2 id="t-jobs">Job health</h2>
          <ErrorNote error={jobs.error} />
          <ul className="plain">
            {jobs.data?.data.map((j) => (
              <li key={j.name} className={j.last_run?.status === 'failed' ? 'error' : undefined}>
                <strong>{j.name}</strong>: {j.last_run ? j.last_run.status : 'never ran'}, last success <Time iso={j.last_success?.started_at} />
              </li>
            ))}
          </ul>
        </section>
      </div>
    </Page>
  );
}

/** Top-level figures of an API answer: centicents fields as money, times as times, the rest as text. */
function Figures({ data }: { data: Record<string, unknown> | undefined }) {
  if (!data) return null;
  const entries = Object.entries(data).filter(([, v]) => v === null || typeof v !== 'object');
  return (
    <dl className="facts">
      {entries.map(([k, v]) => (
        <Field key={k} label={k.replace(/_centicents$/, '').replace(/_/g, ' ')}>
          {k.endsWith('_centicents') ? formatCenticents(v as string | null) : k.endsWith('_at') || k.endsWith('runtime') ? <Time iso={v as string | null} /> : String(v ?? '—')}
        </Field>
      ))}
    </dl>
  );
}
