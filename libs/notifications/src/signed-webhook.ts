import { createHmac } from 'node:crypto';

/**
 * The signature headers of a webhook body: `X-Klear-Webhook-Timestamp` (Unix seconds) and
 * `X-Klear-Webhook-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. A receiver
 * recomputes it over the raw body, compares in constant time and refuses timestamps older than a
 * few minutes (replays). No secret configured (development only): no signature headers.
 */
export function signWebhook(secret: string | undefined, body: string, nowMs: number): Record<string, string> {
  if (!secret) return {};
  const timestamp = String(Math.floor(nowMs / 1000));
  const signature = createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
  return { 'x-klear-webhook-timestamp': timestamp, 'x-klear-webhook-signature': `v1=${signature}` };
}

export type WebhookPostResult = { ok: true } | { ok: false; problem: string; retryable: boolean };

/**
 * One signed POST of a JSON body: never follows a redirect, gives up after `timeoutMs`. 429, 5xx,
 * timeouts and network errors are retryable; any other non-2xx answer is not. `deliveryId` goes in
 * `X-Klear-Webhook-Id` (the same on every retry of one delivery, so a receiver can drop repeats).
 */
export async function postSignedWebhook(options: {
  url: string;
  secret: string | undefined;
  body: string;
  deliveryId: string;
  nowMs: number;
  timeoutMs?: number;
}): Promise<WebhookPostResult> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-klear-webhook-id': options.deliveryId,
    ...signWebhook(options.secret, options.body, options.nowMs),
  };
  try {
    const response = await fetch(options.url, {
      method: 'POST',
      headers,
      body: options.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    await response.body?.cancel();
    if (response.ok) return { ok: true };
    const problem =
      response.status >= 300 && response.status < 400
        ? `answered a redirect (${response.status}), which is not followed`
        : `answered ${response.status}`;
    return { ok: false, problem, retryable: response.status === 429 || response.status >= 500 };
  } catch (error) {
    return {
      ok: false,
      problem:
        (error as Error).name === 'TimeoutError'
          ? `did not answer within ${(options.timeoutMs ?? 10_000) / 1000} s`
          : 'could not be reached',
      retryable: true,
    };
  }
}
