import { useQuery } from '@tanstack/react-query';
import { get, qs } from '../api';
import { CursorTable, ErrorNote, Field, Page, Time } from '../components';
import { formatCenticents } from '../money';

interface Approval {
  round: number;
  approver: { id: string; name: string };
  decision: string;
  reason: string | null;
  decided_at: string;
  step_up: { method: string; verified: boolean | null; credential_id?: string; challenge?: string } | null;
}

interface Detail extends WithdrawalRow {
  expires_at: string;
  version: number;
  klear_withdrawal_id: string | null;
  klear_status: string | null;
  attention: { reason: string; details: unknown } | null;
  approvals: Approval[];
  attempts: Array<{ attempt_no: number; state: string; started_at: string; posted_at: string | null; klear_withdrawal_id: string | null; error: string | null; resolution: string | null }>;
  history: Array<{ from: string | null; to: string; actor: string; reason: string | null; at: string }>;
}

interface AuditRow {
  seq: string;
  occurred_at: string;
  actor: string;
  action: string;
  to: string | null;
}

interface WithdrawalRow {
  id: string;
  state: string;
  amount_centicents: string;
  purpose: string;
  requester: { name: string };
  created_at: string;
}

export default function WithdrawalPage({ id }: { id?: string }) {
  if (!id) return <WithdrawalList />;
  return <WithdrawalDetail id={id} />;
}

function WithdrawalList() {
  return (
    <Page title="Withdrawals">
      <CursorTable<WithdrawalRow>
        label="Withdrawals"
        queryKey={['withdrawals']}
        path={(cursor) => `/withdrawals${qs({ cursor, limit: 100 })}`}
        rowKey={(r) => r.id}
        columns={[
          { key: 'amount', header: 'Amount', width: '9rem', numeric: true, cell: (r) => <a href={`#/withdrawals/${r.id}`}>{formatCenticents(r.amount_centicents)}</a> },
          { key: 'state', header: 'State', width: '9rem', cell: (r) => r.state },
          { key: 'purpose', header: 'Purpose', width: 'minmax(8rem, 1fr)', cell: (r) => r.purpose },
          { key: 'requester', header: 'Requester', width: '9rem', cell: (r) => r.requester.name },
          { key: 'created', header: 'Created', width: '12rem', cell: (r) => <Time iso={r.created_at} /> },
        ]}
      />
    </Page>
  );
}

function WithdrawalDetail({ id }: { id: string }) {
  const q = useQuery({ queryKey: ['withdrawal', id], queryFn: () => get<Detail>(`/withdrawals/${id}`), refetchInterval: 5_000 });
  const audit = useQuery({ queryKey: ['withdrawal-audit', id], queryFn: () => get<{ data: AuditRow[] }>(`/audit${qs({ entity: 'withdrawal', entity_id: id, limit: 200, order: 'asc' })}`) });
  const w = q.data;
  return (
    <Page title={w ? `Withdrawal ${formatCenticents(w.amount_centicents)}` : 'Withdrawal'}>
      <ErrorNote error={q.error} />
      {w && (
        <>
          <dl className="facts">
            <Field label="State">
              <strong>{w.state}</strong>
            </Field>
            <Field label="Purpose">{w.purpose}</Field>
            <Field label="Requested by">{w.requester.name}</Field>
            <Field label="Created">
              <Time iso={w.created_at} />
            </Field>
            <Field label="Expires">
              <Time iso={w.expires_at} />
            </Field>
            <Field label="Klear id">{w.klear_withdrawal_id ?? '—'}</Field>
            <Field label="Klear status">{w.klear_status ?? '—'}</Field>
            <Field label="Version">{w.version}</Field>
            {w.attention && <Field label="Needs attention">{w.attention.reason}</Field>}
          </dl>
          <h2>Approvals</h2>
          {w.approvals.length === 0 ? (
            <p>None yet.</p>
          ) : (
            <ul className="plain">
              {w.approvals.map((a) => (
                <li key={`${a.round}-${a.approver.id}`}>
                  Round {a.round}: <strong>{a.approver.name}</strong> {a.decision === 'approve' ? 'approved' : 'rejected'} at <Time iso={a.decided_at} />
                  {a.reason ? ` (“${a.reason}”)` : ''}
                  {a.step_up && (
                    <span className={a.step_up.verified === false ? 'error' : 'ok'}>
                      {' '}
                      · step-up {a.step_up.method}
                      {a.step_up.method === 'passkey' ? (a.step_up.verified ? ': signature verified' : ': signature does NOT verify') : ''}
                    </span>
                  )}
                </li>
              ))}
            </ul>
          )}
          <h2>Timeline</h2>
          <ol className="timeline">
            {w.history.map((h, i) => (
              <li key={i}>
                <Time iso={h.at} /> <strong>{h.to}</strong>
                {h.from ? ` from ${h.from}` : ''} by {h.actor}
                {h.reason ? ` — ${h.reason}` : ''}
              </li>
            ))}
          </ol>
          <h2>Attempts</h2>
          {w.attempts.length === 0 ? (
            <p>No attempt yet.</p>
          ) : (
            <ul className="plain">
              {w.attempts.map((a) => (
                <li key={a.attempt_no}>
                  #{a.attempt_no} {a.state}, started <Time iso={a.started_at} />, posted <Time iso={a.posted_at} />
                  {a.klear_withdrawal_id ? `, Klear id ${a.klear_withdrawal_id}` : ''}
                  {a.error ? `, error: ${a.error}` : ''}
                  {a.resolution ? `, ${a.resolution}` : ''}
                </li>
              ))}
            </ul>
          )}
          <h2>Audit</h2>
          <ErrorNote error={audit.error} />
          <ul className="plain">
            {audit.data?.data.map((r) => (
              <li key={r.seq}>
                <Time iso={r.occurred_at} /> {r.action} by {r.actor}
                {r.to ? ` → ${r.to}` : ''}
              </li>
            ))}
          </ul>
        </>
      )}
    </Page>
  );
}
