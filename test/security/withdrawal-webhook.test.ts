// The failed-withdrawal webhook is signed (a receiver can verify it), never follows a redirect, and
// tries a delivery a bounded number of times.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '@app/clock';
import { loadConfig } from '@app/config';
import { WebhookWithdrawalAlerts } from '@app/withdrawals';
import { testConfig } from '../support/api-world';

const SECRET = 'whsec-7c2f9a41d3b84e6f9a0b1c2d3e4f5a6b';
const alert = {
  event: 'withdrawal.failed',
  withdrawal_id: 'w-1',
  amount_centicents: '6000000',
  amount_usd: '$600.0000',
  klear_withdrawal_id: 'k-1',
  reason: 'failed',
};
let server: Server;
let base: string;
let answers: number[] = [];
const received: Array<{ path: string; headers: IncomingHttpHeaders; body: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body });
      if (req.url === '/moved') {
        res.writeHead(307, { location: '/alerts' }).end();
        return;
      }
      res.statusCode = answers.shift() ?? 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => new Promise((resolve) => server.close(resolve)));

const sink = (path: string, env: Record<string, string> = {}) =>
  new WebhookWithdrawalAlerts(
    testConfig({ WITHDRAWAL_WEBHOOK_URL: `${base}${path}`, WITHDRAWAL_WEBHOOK_SECRET: SECRET, ...env }),
    new ManualClock('2026-11-05T21:00:00Z'),
  );

/** What a receiver does (docs/security.md): recompute the HMAC over "<timestamp>.<raw body>", compare in constant time. */
function receiverAccepts(headers: IncomingHttpHeaders, body: string, nowSeconds: number): boolean {
  const timestamp = String(headers['x-klear-webhook-timestamp']);
  const given = /^v1=([0-9a-f]{64})$/.exec(String(headers['x-klear-webhook-signature']))?.[1];
  if (!given || Math.abs(nowSeconds - Number(timestamp)) > 300) return false;
  const expected = createHmac('sha256', SECRET).update(`${timestamp}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(given, 'hex'));
}

describe('the withdrawal webhook', () => {
  it('signs the body with a timestamp so that a receiver holding the secret verifies it, and a tampered body does not verify', async () => {
    received.length = 0;
    await sink('/alerts').send(alert);
    expect(received).toHaveLength(1);
    const [delivery] = received;
    expect(JSON.parse(delivery.body)).toEqual(alert);
    expect(delivery.headers['x-klear-webhook-timestamp']).toBe(String(Date.parse('2026-11-05T21:00:00Z') / 1000));
    expect(receiverAccepts(delivery.headers, delivery.body, Date.parse('2026-11-05T21:01:00Z') / 1000)).toBe(true);
    expect(receiverAccepts(delivery.headers, delivery.body.replace('600', '900'), Date.parse('2026-11-05T21:01:00Z') / 1000)).toBe(false);
    expect(receiverAccepts(delivery.headers, delivery.body, Date.parse('2026-11-05T22:00:00Z') / 1000)).toBe(false);
  });

  it('does not follow a redirect', async () => {
    received.length = 0;
    await expect(sink('/moved').send(alert)).rejects.toThrow(/redirect \(307\), which is not followed/);
    // A redirect is a permanent answer: one attempt, and the target is never called.
    expect(received.map((r) => r.path)).toEqual(['/moved']);
  });

  it('retries 5xx at most WITHDRAWAL_WEBHOOK_MAX_ATTEMPTS times with the same delivery id, and a 4xx not at all', async () => {
    received.length = 0;
    answers = [500, 503, 502, 204];
    await expect(sink('/alerts', { WITHDRAWAL_WEBHOOK_MAX_ATTEMPTS: '3' }).send(alert)).rejects.toThrow(/answered 502/);
    expect(received).toHaveLength(3);
    expect(new Set(received.map((r) => r.headers['x-klear-webhook-id'])).size).toBe(1);
    received.length = 0;
    answers = [400];
    await expect(sink('/alerts').send(alert)).rejects.toThrow(/answered 400/);
    expect(received).toHaveLength(1);
  });

  it('must be https and signed in production', () => {
    const production = { NODE_ENV: 'production', SECRETS_KEY: 'a'.repeat(64), KLEAR_BASE_URL: 'https://api.klear.example/klear-api/v1' };
    expect(() =>
      loadConfig({ ...production, WITHDRAWAL_WEBHOOK_URL: 'http://hooks.example/alerts', WITHDRAWAL_WEBHOOK_SECRET: SECRET }),
    ).toThrow(/WITHDRAWAL_WEBHOOK_URL: must be https in production/);
    expect(() => loadConfig({ ...production, WITHDRAWAL_WEBHOOK_URL: 'https://hooks.example/alerts' })).toThrow(
      /WITHDRAWAL_WEBHOOK_SECRET: required in production/,
    );
    expect(() => loadConfig({ ...production, KLEAR_BASE_URL: 'http://api.klear.example/klear-api/v1' })).toThrow(
      /KLEAR_BASE_URL: must be https in production/,
    );
    expect(
      loadConfig({ ...production, KLEAR_BASE_URL: 'http://klear-sim:4010/klear-api/v1', ALLOW_PLAIN_HTTP_HOSTS: 'klear-sim' }).klear
        .baseUrl,
    ).toBe('http://klear-sim:4010/klear-api/v1');
    expect(
      loadConfig({ ...production, WITHDRAWAL_WEBHOOK_URL: 'https://hooks.example/alerts', WITHDRAWAL_WEBHOOK_SECRET: SECRET }).withdrawals
        .webhookUrl,
    ).toBe('https://hooks.example/alerts');
  });
});
