import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { ApiError, get, post } from '../api';
import { ErrorNote, FormAlert, Page, Time } from '../components';
import { formatCenticents } from '../money';
import { PasskeyEnrolment } from '../passkey';

interface UserRow {
  id: string;
  name: string;
  roles: string[];
  disabled_at: string | null;
  tokens: Array<{ id: string; label: string; prefix?: string; revoked_at: string | null; last_used_at: string | null }>;
}

interface Policy {
  version: number;
  tiers: Array<{ min_amount_centicents: string; approvals_required: number; roles_required: string[] }>;
  expiry_seconds: number;
  reserve_floor_centicents: string;
  cap_centicents: string;
}

export default function AdminPage() {
  const users = useQuery({ queryKey: ['users'], queryFn: () => get<{ data: UserRow[] }>('/users'), retry: false });
  const policy = useQuery({ queryKey: ['policy'], queryFn: () => get<Policy>('/withdrawal-policy') });
  return (
    <Page title="Administration">
      <h2>Your passkeys</h2>
      <PasskeyEnrolment />
      <h2>Withdrawal policy</h2>
      <ErrorNote error={policy.error} />
      {policy.data && (
        <>
          <p>
            Version {policy.data.version}; requests expire after {policy.data.expiry_seconds} s; reserve floor {formatCenticents(policy.data.reserve_floor_centicents)}; cap{' '}
            {formatCenticents(policy.data.cap_centicents)}.
          </p>
          <ul className="plain">
            {policy.data.tiers.map((t) => (
              <li key={t.min_amount_centicents}>
                From {formatCenticents(t.min_amount_centicents)}: {t.approvals_required} approvals{t.roles_required.length ? `, incl. ${t.roles_required.join(', ')}` : ''}
              </li>
            ))}
          </ul>
        </>
      )}
      <h2>Invite a person</h2>
      {users.error ? <p className="muted">Only administrators invite people.</p> : <InvitePerson />}
      <h2>Users and tokens</h2>
      {users.error ? (
        <p className="muted">Only administrators see users and tokens.</p>
      ) : (
        <table className="table">
          <caption className="sr-only">Users</caption>
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Roles</th>
              <th scope="col">Tokens</th>
            </tr>
          </thead>
          <tbody>
            {users.data?.data.map((u) => (
              <tr key={u.id}>
                <th scope="row">{u.name}</th>
                <td>{u.roles.join(', ')}</td>
                <td>
                  {u.tokens.map((t) => (
                    <div key={t.id}>
                      {t.label} {t.revoked_at ? '(revoked)' : ''} last used <Time iso={t.last_used_at} />
                    </div>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}

const ROLES = ['viewer', 'operator', 'approver', 'admin'] as const;

interface Created {
  name: string;
  invitation: { code: string; expires_at: string; redeemable: boolean } | null;
  proposals: Array<{ id: string; action: string }>;
}

/**
 * POST /users: the person gets a one-time invitation code to hand over (they redeem it on the sign-in
 * page, choosing their own password). With approver or admin the creation waits for a second admin.
 */
function InvitePerson() {
  const client = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<Created | null>(null);
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setError(null);
    setCreated(null);
    try {
      setCreated(await post<Created>('/users', { name: String(form.get('name') ?? '').trim(), roles: form.getAll('roles').map(String) }));
      await client.invalidateQueries({ queryKey: ['users'] });
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'the invitation could not be made');
    }
  };
  return (
    <>
      <form onSubmit={submit} className="inline-form" aria-describedby={error ? 'invite-error' : undefined}>
        <label>
          Name
          <input name="name" autoComplete="off" required maxLength={64} />
        </label>
        <fieldset>
          <legend>Roles</legend>
          {ROLES.map((r) => (
            <label key={r}>
              <input type="checkbox" name="roles" value={r} defaultChecked={r === 'viewer'} /> {r}
            </label>
          ))}
        </fieldset>
        <button type="submit">Invite</button>
      </form>
      <FormAlert id="invite-error" error={error} />
      {created?.invitation && (
        <p role="status">
          Invitation for {created.name}: <code data-testid="invitation-code">{created.invitation.code}</code> (one use, until <Time iso={created.invitation.expires_at} />)
          {created.proposals.length > 0 && <>; it works once a second admin approves the proposal ({created.proposals.map((p) => p.action).join(', ')})</>}. Hand it over; they
          accept it on the sign-in page.
        </p>
      )}
    </>
  );
}
