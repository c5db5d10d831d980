/**
 * What must never reach a log line: pino `redact` paths for our structured logs, and a scrubber
 * for free text (error messages, URLs) that may carry secrets.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-admin-token"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.token',
  '*.accessToken',
  '*.access_token',
  '*.code',
  '*.mfaCode',
  '*.secret',
  '*.url',
  'password',
  'token',
  'accessToken',
  'url',
];

const PATTERNS: Array<[RegExp, string]> = [
  [/(Bearer\s+)[^\s"']+/gi, '$1[REDACTED]'],
  [/kso_[A-Za-z0-9_-]{20,}/g, '[REDACTED_API_TOKEN]'],
  [/([?&](?:signature|sig|token|expires|X-Amz-[A-Za-z-]+)=)[^&\s"']+/gi, '$1[REDACTED]'],
  [/(postgres(?:ql)?:\/\/[^:/\s]+:)[^@\s]+@/gi, '$1[REDACTED]@'],
  [/("?(?:password|access_token|code|token)"?\s*[:=]\s*"?)[^",\s}]+/gi, '$1[REDACTED]'],
];

export function scrubSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** A URL safe to log: path only, no query string (presigned URLs carry their signature there). */
export function loggableUrl(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : `${url.slice(0, q)}?[REDACTED]`;
}
