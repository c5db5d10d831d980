import { startAuthentication } from '@simplewebauthn/browser';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { ApiError, post } from './api';
import { formatCenticents } from './money';

export interface StepUpTarget {
  id: string;
  /** centicents, decimal string */
  amount: string;
  purpose: string;
  version: number;
}

type StepUp = { method: 'totp'; code: string } | { method: 'passkey'; nonce: string; assertion: unknown };

/**
 * The approve / reject dialog: every decision needs a fresh second factor bound to this request,
 * a passkey assertion over a challenge derived from the request's id, amount, purpose and version,
 * or the current TOTP code. A native <dialog> (focus trapped, Escape closes).
 */
export function DecisionDialog({
  target,
  action,
  passkeys,
  onClose,
  onDone,
}: {
  target: StepUpTarget;
  action: 'approve' | 'reject';
  passkeys: number;
  onClose: () => void;
  onDone: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);

  const decide = async (stepUp: StepUp, reason: string) => {
    const step_up = { ...stepUp, version: target.version };
    const body = action === 'approve' ? { step_up } : { step_up, reason };
    await post(`/withdrawals/${target.id}/${action}`, body);
  };
  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
      onDone();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  const reasonOf = (form: HTMLFormElement) => String(new FormData(form).get('reason') ?? '');
  const withTotp = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const code = String(new FormData(form).get('code') ?? '');
    void run(() => decide({ method: 'totp', code }, reasonOf(form)));
  };
  const withPasskey = (form: HTMLFormElement | null) =>
    void run(async () => {
      const challenge = await post<{ nonce: string; options: Parameters<typeof startAuthentication>[0]['optionsJSON'] }>(`/withdrawals/${target.id}/step-up`, { action });
      const assertion = await startAuthentication({ optionsJSON: challenge.options });
      await decide({ method: 'passkey', nonce: challenge.nonce, assertion }, form ? reasonOf(form) : '');
    });
  const title = `${action === 'approve' ? 'Approve' : 'Reject'} ${formatCenticents(target.amount)}`;
  return (
    <dialog ref={ref} aria-labelledby="decision-title" onClose={onClose} className="dialog">
      <h2 id="decision-title">{title}</h2>
      <p>
        “{target.purpose}” · request <code>{target.id.slice(0, 8)}</code> · version {target.version}
      </p>
      <form onSubmit={withTotp} id="decision-form">
        {action === 'reject' && (
          <label>
            Reason
            <textarea name="reason" required minLength={1} maxLength={500} />
          </label>
        )}
        <label>
          Authenticator code for this decision
          <input name="code" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" maxLength={6} required autoFocus />
        </label>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <div className="buttons">
          <button type="submit" disabled={busy} className={action === 'approve' ? 'primary' : 'danger'}>
            {action === 'approve' ? 'Approve with code' : 'Reject with code'}
          </button>
          {passkeys > 0 && (
            <button type="button" disabled={busy} onClick={() => withPasskey(document.getElementById('decision-form') as HTMLFormElement)}>
              {action === 'approve' ? 'Approve with passkey' : 'Reject with passkey'}
            </button>
          )}
          <button type="button" onClick={() => ref.current?.close()}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}
