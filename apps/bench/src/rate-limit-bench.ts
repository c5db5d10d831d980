import { type RunningKlearSimulator, startKlearSimulator } from '@apps/klear-sim';
import { KlearClient } from '@app/klear-client';
import { RATE_LIMIT_TIERS } from '@app/klear-contract';
import type { Measurement } from './results';

/**
 * The real client at tier basic against a simulator, counting on the wire what it sent and the 429s
 * it got back (in `wire`).
 */
export function basicTierClient(sim: RunningKlearSimulator, timeoutMs: number, wire: { sent: number; rejected: number }): KlearClient {
  const countingFetch: typeof fetch = async (input, init) => {
    wire.sent++;
    const response = await fetch(input, init);
    if (response.status === 429) wire.rejected++;
    return response;
  };
  return new KlearClient({
    baseUrl: sim.url,
    credentials: { mode: 'bearer', adminUserId: sim.options.adminUserId, accessToken: sim.options.accessToken },
    tier: 'basic',
    timeoutMs,
    maxRetries: 5,
    fetch: countingFetch,
  });
}

/**
 * Use of tier basic's read limit: `rate` (pages or reads a second) against the limit, at least 0.9 of
 * it, and not one 429 among the requests counted on the wire.
 */
export function basicTierUse(
  names: { rate: string; rejected: string },
  rate: number,
  unit: string,
  wire: { sent: number; rejected: number },
): Measurement[] {
  const limit = RATE_LIMIT_TIERS.basic.read;
  return [
    { name: names.rate, value: rate, unit, floor: limit, ratio: rate / limit, target: { on: 'ratio', op: '>=', limit: 0.9 } },
    {
      name: names.rejected,
      value: wire.rejected,
      unit: 'responses',
      floor: null,
      ratio: null,
      target: { on: 'value', op: '<=', limit: 0 },
    },
  ];
}

/**
 * Walks `pages` pages of balance history and obligation history (alternately, limit 1, starting
 * over when a walk ends) through the real client against the simulator enforcing tier basic.
 * Good use of the limit is close to it without a single 429 (counted on the wire).
 */
export async function benchRateLimitUse(pages: number): Promise<Measurement[]> {
  const sim = await startKlearSimulator({
    port: 0,
    rateLimit: true,
    tier: 'basic',
    seed: 11,
    subtraders: 3,
    markets: 2,
    days: 20,
    withdrawalFailureRate: 0,
  });
  const wire = { sent: 0, rejected: 0 };
  try {
    const client = basicTierClient(sim, 10_000, wire);
    let balanceCursor: string | undefined;
    let obligationCursor: string | undefined;
    const start = process.hrtime.bigint();
    for (let page = 0; page < pages; page++) {
      if (page % 2 === 0) {
        const answer = await client.getSettlementBalanceHistory({ limit: 1, cursor: balanceCursor });
        balanceCursor = answer.data.cursor || undefined;
      } else {
        const answer = await client.getObligationHistory({ limit: 1, cursor: obligationCursor });
        obligationCursor = answer.data.cursor || undefined;
      }
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return basicTierUse(
      { rate: `klear rate-limit use: ${pages} pages at tier basic`, rejected: `klear rate-limit: 429 answers in ${wire.sent} requests` },
      pages / seconds,
      'reads/s',
      wire,
    );
  } finally {
    await sim.close();
  }
}
