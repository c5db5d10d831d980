import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { api, get } from '../api';
import { ErrorNote, Page, Time } from '../components';

interface Kinds {
  kinds: Array<{ kind: string; title: string; default_roles: string[] }>;
  channels: string[];
}

interface Preferences {
  email: string | null;
  events: Record<string, string[]>;
  updated_at: string | null;
  updated_by: string | null;
}

const CHANNEL_LABEL: Record<string, string> = { email: 'Email', slack: 'Slack' };

/**
 * One's own notification preferences (GET/PUT /notifications/preferences/me): the address, and per
 * kind the channels. Who is in a kind's audience is the API's rule (roles, never the requester of an
 * approval request); this page only chooses how a person is told.
 */
export default function NotificationsPage() {
  const client = useQueryClient();
  const kinds = useQuery({ queryKey: ['notification-kinds'], queryFn: () => get<Kinds>('/notifications/kinds'), staleTime: Infinity });
  const prefs = useQuery({ queryKey: ['notification-preferences'], queryFn: () => get<Preferences>('/notifications/preferences/me') });
  const [email, setEmail] = useState('');
  const [events, setEvents] = useState<Record<string, string[]>>({});
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (!prefs.data) return;
    setEmail(prefs.data.email ?? '');
    setEvents(prefs.data.events);
  }, [prefs.data]);
  const save = useMutation({
    mutationFn: () => api<Preferences>('PUT', '/notifications/preferences/me', { email: email.trim() === '' ? null : email.trim(), events }),
    onSuccess: (data) => {
      client.setQueryData(['notification-preferences'], data);
      setSaved(true);
    },
  });
  const toggle = (kind: string, channel: string, on: boolean) => {
    setSaved(false);
    setEvents((current) => {
      const now = new Set(current[kind] ?? []);
      if (on) now.add(channel);
      else now.delete(channel);
      return { ...current, [kind]: (kinds.data?.channels ?? []).filter((c) => now.has(c)) };
    });
  };
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    setSaved(false);
    save.mutate();
  };
  return (
    <Page title="Notifications">
      <p className="muted">
        Which events reach you, and how. Email goes to the address below; Slack posts go to the team channel and name you. An empty row switches that event off for you.
      </p>
      <ErrorNote error={kinds.error ?? prefs.error} />
      {kinds.data && prefs.data && (
        <form onSubmit={submit} aria-describedby={save.error ? 'prefs-error' : undefined}>
          <label className="narrow">
            Email address
            <input type="email" name="email" autoComplete="email" value={email} maxLength={320} onChange={(e) => { setSaved(false); setEmail(e.target.value); }} />
          </label>
          <div className="table-wrap">
            <table className="table prefs">
              <caption className="sr-only">Channels per event</caption>
              <thead>
                <tr>
                  <th scope="col">Event</th>
                  {kinds.data.channels.map((c) => (
                    <th scope="col" key={c} className="center">
                      {CHANNEL_LABEL[c] ?? c}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {kinds.data.kinds.map((k) => (
                  <tr key={k.kind}>
                    <th scope="row">
                      {k.title}
                      <br />
                      <small className="muted">{k.kind}</small>
                    </th>
                    {kinds.data.channels.map((c) => (
                      <td key={c} className="center">
                        <input
                          type="checkbox"
                          aria-label={`${k.title}: ${CHANNEL_LABEL[c] ?? c}`}
                          checked={(events[k.kind] ?? []).includes(c)}
                          onChange={(e) => toggle(k.kind, c, e.target.checked)}
                        />
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="actions">
            <button type="submit" className="primary" disabled={save.isPending}>
              Save preferences
            </button>
          </div>
          <div id="prefs-error">
            <ErrorNote error={save.error} />
          </div>
          <p role="status" className="notice">
            {saved ? 'Preferences saved.' : ''}
          </p>
          {prefs.data.updated_at && (
            <p className="muted">
              Last changed <Time iso={prefs.data.updated_at} /> by {prefs.data.updated_by}.
            </p>
          )}
        </form>
      )}
    </Page>
  );
}
