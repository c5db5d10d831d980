import { type RunningKlearSimulator, startKlearSimulator } from '../../klear-sim/src/index';
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
    const limit = RATE_LIMIT_TIERS.basic.read;
    const achieved = pages / seconds;
    return [
      {
        name: `klear rate-limit use: ${pages} pages at tier basic`,
        value: achieved,
        unit: 'reads/s',
        floor: limit,
        ratio: achieved / limit,
        target: { on: 'ratio', op: '>=', limit: 0.9 },
      },
      {
        name: `klear rate-limit: 429 answers in ${wire.sent} requests`,
        value: wire.rejected,
        unit: 'responses',
        floor: null,
        ratio: null,
        target: { on: 'value', op: '<=', limit: 0 },
      },
    ];
  } finally {
    await sim.close();
  }
}
