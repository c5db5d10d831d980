import type { Request } from 'express';
import type { AppConfig } from '@app/config';
import type { RelyingParty } from '@app/auth';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** The console's origin (CONSOLE_ORIGIN, or the request's own scheme and Host on loopback use) and WebAuthn relying-party id. */
export function relyingPartyOf(config: AppConfig, req: Request): RelyingParty {
  const origin = config.console.origin ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
  return { origin, rpId: new URL(origin).hostname };
}

/** Cookies are `Secure` everywhere except on a loopback host (plain http on one's own machine). */
export function isLoopback(req: Request): boolean {
  return LOOPBACK.has(req.hostname);
}
