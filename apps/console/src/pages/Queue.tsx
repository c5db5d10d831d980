import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { get } from '../api';
import { age, countdown, ErrorNote, Page } from '../components';
import { formatCenticents } from '../money';
import { useSession } from '../session';
import { DecisionDialog, type StepUpTarget } from '../stepup';

export interface PendingItem {
  id: string;
  amount_centicents: string;
  purpose: string;
  requester: { id: string; name: string };
  created_at: string;
  expires_at: string;
  age_seconds: number;
  version: number;
  tier: { approvals_required: number; roles_required: string[] };
  approvals: Array<{ name: string; decided_at: string }>;
  headroom_at_request_centicents: string | null;
  fits_current_headroom: boolean | null;
  you: { can_decide: boolean; why_not: string | null };
}

interface PendingPage {
  data: PendingItem[];
  now: string;
  headroom: { headroom_centicents: string } | null;
  headroom_error: string | null;
}

export const pendingQuery = { queryKey: ['pending'], queryFn: () => get<PendingPage>('/withdrawals/pending') };

/** The approval queue: every pending request, live (polled every 5 s), with the step-up dialog. */
export default function QueuePage() {
  const { session } = useSession();
  const client = useQueryClient();
  const [dialog, setDialog] = useState<{ target: StepUpTarget; action: 'approve' | 'reject' } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const q = useQuery({ ...pendingQuery, refetchInterval: 5_000 });
  const nowMs = q.data ? Date.parse(q.data.now) : 0;
  return (
    <Page title="Approval queue">
      <p className="muted">
        Headroom now: <strong>{q.data?.headroom ? formatCenticents(q.data.headroom.headroom_centicents) : (q.data?.headroom_error ?? '—')}</strong> · refreshed every 5 s
      </p>
      <ErrorNote error={q.error} />
      <p aria-live="polite" className="notice">
        {notice}
      </p>
      {q.data && q.data.data.length === 0 && <p>No request is waiting for approval.</p>}
      <ul className="cards" aria-label="Pending withdrawals">
        {q.data?.data.map((w) => (
          <li key={w.id} className="card" aria-labelledby={`w-${w.id}`}>
            <div className="card-head">
              <h2 id={`w-${w.id}`}>
                <a href={`#/withdrawals/${w.id}`}>{formatCenticents(w.amount_centicents)}</a>
              </h2>
              <span className="badge">
                {w.approvals.length} of {w.tier.approvals_required} approvals
              </span>
            </div>
            <p className="purpose">{w.purpose}</p>
            <dl className="facts">
              <div>
                <dt>Requested by</dt>
                <dd>{w.requester.name}</dd>
              </div>
              <div>
                <dt>Age</dt>
                <dd>{age(w.age_seconds)}</dd>
              </div>
              <div>
                <dt>Expires in</dt>
                <dd>{countdown(w.expires_at, nowMs)}</dd>
              </div>
              <div>
                <dt>Policy tier</dt>
                <dd>
                  {w.tier.approvals_required} approvers{w.tier.roles_required.length ? `, incl. ${w.tier.roles_required.join(', ')}` : ''}
                </dd>
              </div>
              <div>
                <dt>Approved by</dt>
                <dd>{w.approvals.length ? w.approvals.map((a) => a.name).join(', ') : 'nobody yet'}</dd>
              </div>
              <div>
                <dt>Headroom at request</dt>
                <dd>{formatCenticents(w.headroom_at_request_centicents)}</dd>
              </div>
              <div>
                <dt>Fits headroom now</dt>
                <dd>{w.fits_current_headroom === null ? 'unknown' : w.fits_current_headroom ? 'yes' : 'NO'}</dd>
              </div>
            </dl>
            {w.you.can_decide ? (
              <div className="buttons">
                <button type="button" className="primary" onClick={() => setDialog({ target: { id: w.id, amount: w.amount_centicents, purpose: w.purpose, version: w.version }, action: 'approve' })}>
                  Approve…
                </button>
                <button type="button" className="danger" onClick={() => setDialog({ target: { id: w.id, amount: w.amount_centicents, purpose: w.purpose, version: w.version }, action: 'reject' })}>
                  Reject…
                </button>
              </div>
            ) : (
              <p className="why-not">{w.you.why_not}</p>
            )}
          </li>
        ))}
      </ul>
      {dialog && (
        <DecisionDialog
          target={dialog.target}
          action={dialog.action}
          passkeys={session.passkeys}
          onClose={() => setDialog(null)}
          onDone={() => {
            setNotice(`${dialog.action === 'approve' ? 'Approved' : 'Rejected'} ${formatCenticents(dialog.target.amount)}.`);
            setDialog(null);
            void client.invalidateQueries({ queryKey: ['pending'] });
          }}
        />
      )}
    </Page>
  );
}
