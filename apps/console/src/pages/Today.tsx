import { useQuery } from '@tanstack/react-query';
import { get } from '../api';
import { ErrorNote, Field, Page, Time } from '../components';
import { formatCenticents } from '../money';
import { BufferChart } from '../charts/BufferChart';

interface JobRow {
  name: string;
  enabled: boolean;
  last_run: { status: string; started_at: string } | null;
  last_success: { started_at: string } | null;
}

/** GET /headroom: every term of `available - not_yet_locked_withdrawals - reserve`, amounts as decimal strings. */
interface HeadroomNow {
  as_of: string;
  policy_version: number;
  headroom_centicents: string;
  pending_approval: { count: number; total_centicents: string };
  headroom_after_pending_approval_centicents: string;
  figures: {
    available_centicents: string;
    locked_centicents: string;
    not_yet_locked_withdrawals_centicents: string;
    not_yet_locked_withdrawal_ids: string[];
    reserve_centicents: string;
    reserve_active_obligation_payable_centicents: string;
    reserve_estimate_payable_centicents: string;
    reserve_floor_centicents: string;
    active_obligations: Array<{ asset_class: string; id: string; payable_centicents: string }>;
    estimates_by_asset_class: Array<{ asset_class: string; payable_centicents: string }>;
    balance_pulled_at: string;
    estimate_pulled_at: string | null;
  };
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
  const headroom = useJson<HeadroomNow>('headroom', '/headroom');
  const byCheck = new Map<string, number>();
  for (const b of breaks.data?.data ?? []) byCheck.set(b.check, (byCheck.get(b.check) ?? 0) + 1);
  return (
    <Page title="Today">
      <div className="grid">
        <FiguresCard id="t-obl" title="Active obligation" answer={obligation} />
        <FiguresCard id="t-est" title="Settlement estimate" answer={estimate} />
        <FiguresCard id="t-buf" title="Settlement buffer" answer={balance} />
        <section className="card" aria-labelledby="t-head">
          <h2 id="t-head">Headroom now</h2>
          <ErrorNote error={headroom.error} />
          {headroom.data && <HeadroomTerms h={headroom.data} />}
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
      <BufferChart />
    </Page>
  );
}

/**
 * What a withdrawal could take right now, term by term (the formula the request check uses):
 * available − withdrawals not yet locked at Klear − reserve (each payable obligation, each payable
 * estimate, the policy's floor) = headroom; then the requests still waiting for approval.
 */
function HeadroomTerms({ h }: { h: HeadroomNow }) {
  const f = h.figures;
  const money = formatCenticents;
  return (
    <table className="terms" aria-label="Headroom formula">
      <tbody>
        <tr>
          <th scope="row">Buffer available</th>
          <td>{money(f.available_centicents)}</td>
        </tr>
        <tr>
          <th scope="row">− Withdrawals not yet locked at Klear ({f.not_yet_locked_withdrawal_ids.length})</th>
          <td>{money(f.not_yet_locked_withdrawals_centicents)}</td>
        </tr>
        <tr>
          <th scope="row">− Reserve</th>
          <td>{money(f.reserve_centicents)}</td>
        </tr>
        {f.active_obligations.map((o) => (
          <tr key={`o-${o.id}`} className="sub">
            <th scope="row">active obligation payable, {o.asset_class}</th>
            <td>{money(o.payable_centicents)}</td>
          </tr>
        ))}
        {f.active_obligations.length === 0 && (
          <tr className="sub">
            <th scope="row">active obligation payable</th>
            <td>{money(f.reserve_active_obligation_payable_centicents)}</td>
          </tr>
        )}
        {f.estimates_by_asset_class.map((e) => (
          <tr key={`e-${e.asset_class}`} className="sub">
            <th scope="row">estimate payable, {e.asset_class}</th>
            <td>{money(e.payable_centicents)}</td>
          </tr>
        ))}
        {f.estimates_by_asset_class.length === 0 && (
          <tr className="sub">
            <th scope="row">estimate payable</th>
            <td>{money(f.reserve_estimate_payable_centicents)}</td>
          </tr>
        )}
        <tr className="sub">
          <th scope="row">reserve floor (policy v{h.policy_version})</th>
          <td>{money(f.reserve_floor_centicents)}</td>
        </tr>
        <tr className="total">
          <th scope="row">= Headroom now</th>
          <td>{money(h.headroom_centicents)}</td>
        </tr>
        <tr>
          <th scope="row">− Waiting for approval ({h.pending_approval.count})</th>
          <td>{money(h.pending_approval.total_centicents)}</td>
        </tr>
        <tr className="total">
          <th scope="row">= Headroom after those</th>
          <td>{money(h.headroom_after_pending_approval_centicents)}</td>
        </tr>
        <tr className="sub">
          <th scope="row">balance read</th>
          <td>
            <Time iso={f.balance_pulled_at} />
          </td>
        </tr>
      </tbody>
    </table>
  );
}

/** Top-level figures of an API answer: centicents fields as money, times as times, the rest as text. */
/** A card of one answer's figures under its title (the error instead when the request failed). */
function FiguresCard({ id, title, answer }: { id: string; title: string; answer: { error: unknown; data: Record<string, unknown> | undefined } }) {
  return (
    <section className="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <ErrorNote error={answer.error} />
      <Figures data={answer.data} />
    </section>
  );
}

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
