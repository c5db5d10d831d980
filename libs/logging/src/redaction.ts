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

/** Query parameters whose values are secrets (tokens, presigned URL signatures, one-time codes). */
const SECRET_QUERY_KEY =
  /^(?:token|access_token|id_token|refresh_token|api_key|apikey|key|secret|password|passwd|code|mfa_code|otp|signature|sig|credential|session|x-amz-[a-z-]+|x-goog-[a-z-]+)$/i;

/**
 * A request target safe to log: the path as is, the query with the values of secret-looking
 * parameters replaced (presigned URLs carry their signature there; a client may misplace a token).
 */
export function loggableTarget(url: string): { path: string; query?: string } {
  const q = url.indexOf('?');
  if (q === -1) return { path: url };
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // keep the raw name
      }
      return eq !== -1 && SECRET_QUERY_KEY.test(decoded) ? `${name}=[REDACTED]` : scrubSecrets(pair);
    })
    .join('&');
  return { path: url.slice(0, q), query };
}
