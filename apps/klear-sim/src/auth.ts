import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { SimulatorOptions } from './options';
import { systemClock } from '@app/clock';

export const SESSION_COOKIE = 'klear_session';

export type AuthOutcome = { ok: true; userId: string } | { ok: false; status: 401 | 403; message: string };

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

function readCookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

/** Both of Klear's authentication modes: bearer `<admin_user_id>:<access_token>`, or a /log_in session cookie. */
export class KlearAuthenticator {
  private readonly sessions = new Map<string, { userId: string; expiresAt: number }>();

  constructor(private readonly options: SimulatorOptions) {}

  authenticate(req: IncomingMessage): AuthOutcome {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer ([^:\s]+):(\S+)$/.exec(header);
      if (match === null) return { ok: false, status: 401, message: 'malformed Authorization header' };
      const [, userId, token] = match;
      if (userId === this.options.adminUserId && sameSecret(token, this.options.accessToken)) return { ok: true, userId };
      if (userId === this.options.nonMemberUserId && sameSecret(token, this.options.nonMemberAccessToken)) {
        return { ok: false, status: 403, message: 'user is not a clearing member' };
      }
      return { ok: false, status: 401, message: 'invalid credentials' };
    }
    const sessionId = readCookie(req, SESSION_COOKIE);
    if (sessionId === undefined) return { ok: false, status: 401, message: 'authentication required' };
    const session = this.sessions.get(sessionId);
    if (session === undefined || session.expiresAt <= systemClock.nowMs()) {
      this.sessions.delete(sessionId);
      return { ok: false, status: 401, message: 'session expired or unknown' };
    }
    return { ok: true, userId: session.userId };
  }

  /** Returns the Set-Cookie value, or undefined for wrong credentials or MFA code. */
  logIn(email: string, password: string, code: string | undefined): string | undefined {
    const mfaOk = this.options.mfaCode === '' || (code !== undefined && sameSecret(code, this.options.mfaCode));
    if (!sameSecret(email, this.options.email) || !sameSecret(password, this.options.password) || !mfaOk) return undefined;
    const sessionId = randomBytes(24).toString('base64url');
    const ttl = this.options.sessionTtlSeconds;
    this.sessions.set(sessionId, { userId: this.options.adminUserId, expiresAt: systemClock.nowMs() + ttl * 1000 });
    return `${SESSION_COOKIE}=${sessionId}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${ttl}`;
  }

  expireAllSessions(): void {
    this.sessions.clear();
  }
}

/** Fixed one-second windows per request kind, as Klear counts reads and writes separately. */
export class RateLimiter {
  private window = 0;
  private counts = { read: 0, write: 0 };

  /**
   * @param nowMs the clock whose seconds are the windows: the machine's (Klear's limits are real time);
   *   a test holds it still to put a burst in one window whatever the machine's speed.
   */
  constructor(
    private readonly limits: { read: number; write: number },
    public nowMs: () => number = () => systemClock.nowMs(),
  ) {}

  /** Returns the seconds to wait when over the limit, or 0 when the request may pass. */
  take(kind: 'read' | 'write'): number {
    const now = this.nowMs();
    const window = Math.floor(now / 1000);
    if (window !== this.window) {
      this.window = window;
      this.counts = { read: 0, write: 0 };
    }
    if (this.counts[kind] >= this.limits[kind]) return 1;
    this.counts[kind]++;
    return 0;
  }
}
