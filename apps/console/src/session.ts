import { createContext, useContext } from 'react';

export interface SessionUser {
  id: string;
  name: string;
  roles: string[];
}

export interface SessionInfo {
  user: SessionUser;
  csrf_token: string;
  idle_expires_at: string;
  absolute_expires_at: string;
  passkeys: number;
}

export const SessionContext = createContext<{ session: SessionInfo; signOut: () => void } | null>(null);

export function useSession(): { session: SessionInfo; signOut: () => void } {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside a signed-in console');
  return value;
}

export const hasRole = (session: SessionInfo, role: string) => session.user.roles.includes(role);
