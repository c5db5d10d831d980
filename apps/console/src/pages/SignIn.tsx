import { type FormEvent, useState } from 'react';
import { ApiError, post, setCsrfToken } from '../api';
import { FormAlert } from '../components';
import type { SessionInfo } from '../session';

/** Username + password + the TOTP code of the authenticator app: all three in one step. A newcomer accepts their invitation first. */
export function SignIn({ onSignedIn }: { onSignedIn: (s: SessionInfo) => void }) {
  const [inviting, setInviting] = useState(false);
  if (inviting) return <AcceptInvitation onDone={() => setInviting(false)} />;
  return <SignInForm onSignedIn={onSignedIn} onInvitation={() => setInviting(true)} />;
}

function SignInForm({ onSignedIn, onInvitation }: { onSignedIn: (s: SessionInfo) => void; onInvitation: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const session = await post<SessionInfo>('/session', {
        username: String(form.get('username') ?? ''),
        password: String(form.get('password') ?? ''),
        totp: String(form.get('totp') ?? ''),
      });
      setCsrfToken(session.csrf_token);
      onSignedIn(session);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'sign-in failed');
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" className="signin">
      <h1>Klear ops console</h1>
      <form onSubmit={submit} aria-describedby={error ? 'signin-error' : undefined}>
        <label>
          Username
          <input name="username" autoComplete="username" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        <label>
          Authenticator code
          <input name="totp" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" maxLength={6} required />
        </label>
        <FormAlert id="signin-error" error={error} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      <p>
        New here?{' '}
        <button type="button" className="link" onClick={onInvitation}>
          Accept an invitation
        </button>
      </p>
    </main>
  );
}

interface Redeemed {
  user: { name: string };
  token: string;
  console: { username: string; totp_secret: string; otpauth_uri: string } | null;
}

/**
 * The invitee redeems the one-time code an administrator gave them, choosing their own password: the
 * answer shows, once, the TOTP secret to add to an authenticator app (and their API token for scripts).
 */
function AcceptInvitation({ onDone }: { onDone: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [redeemed, setRedeemed] = useState<Redeemed | null>(null);
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const password = String(form.get('password') ?? '');
    if (password !== String(form.get('confirm') ?? '')) return setError('the two passwords differ');
    setBusy(true);
    setError(null);
    try {
      setRedeemed(await post<Redeemed>('/invitations/redeem', { code: String(form.get('code') ?? '').trim(), label: 'console', password }));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'the invitation could not be redeemed');
    } finally {
      setBusy(false);
    }
  };
  if (redeemed?.console) {
    return (
      <main id="main" className="signin">
        <h1>Welcome, {redeemed.console.username}</h1>
        <p>Add this secret to your authenticator app now: it is shown only once.</p>
        <dl className="facts">
          <div className="field">
            <dt>Username</dt>
            <dd>{redeemed.console.username}</dd>
          </div>
          <div className="field">
            <dt>TOTP secret</dt>
            <dd>
              <code data-testid="totp-secret">{redeemed.console.totp_secret}</code>
            </dd>
          </div>
          <div className="field">
            <dt>Authenticator link</dt>
            <dd>
              <a href={redeemed.console.otpauth_uri}>otpauth link</a>
            </dd>
          </div>
          <div className="field">
            <dt>API token for scripts (shown once)</dt>
            <dd>
              <code>{redeemed.token}</code>
            </dd>
          </div>
        </dl>
        <button type="button" onClick={onDone}>
          Continue to sign-in
        </button>
      </main>
    );
  }
  return (
    <main id="main" className="signin">
      <h1>Accept an invitation</h1>
      <form onSubmit={submit} aria-describedby={error ? 'invite-error' : undefined}>
        <label>
          Invitation code
          <input name="code" autoComplete="off" required />
        </label>
        <label>
          New password (at least 12 characters)
          <input name="password" type="password" autoComplete="new-password" minLength={12} required />
        </label>
        <label>
          New password again
          <input name="confirm" type="password" autoComplete="new-password" minLength={12} required />
        </label>
        <FormAlert id="invite-error" error={error} />
        <button type="submit" disabled={busy}>
          Accept invitation
        </button>
      </form>
      <p>
        <button type="button" className="link" onClick={onDone}>
          Back to sign-in
        </button>
      </p>
    </main>
  );
}
