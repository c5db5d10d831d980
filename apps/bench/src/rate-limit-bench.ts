import { startKlearSimulator } from '../../klear-sim/src/index';
import { KlearClient } from '@app/klear-client';
import { RATE_LIMIT_TIERS } from '@app/klear-contract';
import type { Measurement } from './results';

/**
 * Walks `pages` pages of balance history and obligation history (alternately, limit 1, starting
 * over when a walk ends) through the real client against the simulator enforcing tier basic.
 * Good use of the limit is close to it without a single 429 (counted on the wire).
 */
export async function benchRateLimitUse(pages: number): Promise<Measurement[]> {
  const sim = await startKlearSimulator({ port: 0, rateLimit: true, tier: 'basic', seed: 11, subtraders: 3, markets: 2, days: 20, withdrawalFailureRate: 0 });
  let rejected = 0;
  let sent = 0;
  const countingFetch: typeof fetch = async (input, init) => {
    sent++;
    const response = await fetch(input, init);
    if (response.status === 429) rejected++;
    return response;
  };
  try {
    const client = new KlearClient({
      baseUrl: sim.url,
      credentials: { mode: 'bearer', adminUserId: sim.options.adminUserId, accessToken: sim.options.accessToken },
      tier: 'basic',
      timeoutMs: 10_000,
      maxRetries: 5,
      fetch: countingFetch,
    });
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
        name: `klear rate-limit: 429 answers in ${sent} requests`,
        value: rejected,
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
