import { startRegistration } from '@simplewebauthn/browser';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ApiError, post } from './api';
import { useSession } from './session';

/** Enrols a passkey for the signed-in person (a second factor for approvals besides TOTP). */
export function PasskeyEnrolment() {
  const { session } = useSession();
  const client = useQueryClient();
  const [message, setMessage] = useState<string | null>(null);
  const enrol = async () => {
    setMessage(null);
    try {
      const options = await post<Parameters<typeof startRegistration>[0]['optionsJSON']>('/session/passkeys/options', {});
      const response = await startRegistration({ optionsJSON: options });
      await post('/session/passkeys', { response });
      setMessage('Passkey enrolled.');
      await client.invalidateQueries({ queryKey: ['session'] });
    } catch (e) {
      setMessage(e instanceof ApiError ? e.message : e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <div>
      <p>You have {session.passkeys} passkey(s).</p>
      <button type="button" onClick={() => void enrol()}>
        Enrol a passkey
      </button>
      <p aria-live="polite">{message}</p>
    </div>
  );
}
