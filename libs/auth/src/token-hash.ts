import { createHash, randomBytes } from 'node:crypto';

const TOKEN_PREFIX = 'kso_';

/** A new API token: 256 random bits, URL-safe, recognisable by its prefix (for secret scanners). */
export function generateApiToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function looksLikeApiToken(token: string): boolean {
  return /^kso_[A-Za-z0-9_-]{43}$/.test(token);
}

const INVITATION_PREFIX = 'ksi_';

/** A one-time invitation code: 256 random bits; stored as its SHA-256 like a token. */
export function generateInvitationCode(): string {
  return INVITATION_PREFIX + randomBytes(32).toString('base64url');
}

export function looksLikeInvitationCode(code: string): boolean {
  return /^ksi_[A-Za-z0-9_-]{43}$/.test(code);
}
