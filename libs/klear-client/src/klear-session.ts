/**
 * The session cookie of session-mode auth. Concurrent requests that find it expired share one
 * login: the first caller logs in, the others wait for that login instead of starting their own.
 */
export class KlearSession {
  private cookie: string | undefined;
  private pending: Promise<string> | undefined;

  constructor(private readonly logIn: () => Promise<string>) {}

  /** The current cookie, logging in first when there is none. */
  current(): Promise<string> {
    return this.cookie !== undefined ? Promise.resolve(this.cookie) : this.renew(undefined);
  }

  /** Logs in again unless another caller already replaced the `stale` cookie. */
  renew(stale: string | undefined): Promise<string> {
    if (this.cookie !== undefined && this.cookie !== stale) return Promise.resolve(this.cookie);
    this.cookie = undefined;
    this.pending ??= this.logIn().then(
      (cookie) => {
        this.cookie = cookie;
        this.pending = undefined;
        return cookie;
      },
      (error: unknown) => {
        this.pending = undefined;
        throw error;
      },
    );
    return this.pending;
  }
}

/** `name=value; name2=value2` from Set-Cookie headers (attributes dropped). */
export function cookieHeaderFrom(setCookies: string[]): string {
  return setCookies
    .map((line) => line.split(';', 1)[0].trim())
    .filter((pair) => pair.includes('='))
    .join('; ');
}
