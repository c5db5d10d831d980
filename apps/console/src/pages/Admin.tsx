import { useQuery } from '@tanstack/react-query';
import { get } from '../api';
import { ErrorNote, Page, Time } from '../components';
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
