import { RATE_LIMIT_TIERS } from '@app/klear-contract';
import { KlearAuthenticator, RateLimiter } from './auth';
import { ConformanceRecorder } from './conformance';
import { FaultInjector } from './faults';
import type { SimulatorOptions } from './options';
import { SimulatorState } from './state';
import { systemClock } from '@app/clock';

export interface WithdrawalPostRecord {
  received_at: string;
  simulated_at: string;
  amount: string;
  outcome: string;
  id: string | undefined;
}

export interface HeldRequest {
  seq: number;
  endpoint: string;
  phase: 'before' | 'after';
  held_at: string;
}

/** Requests a `hold` fault keeps waiting until the admin path releases them (oldest first). */
export class HeldRequests {
  private seq = 0;
  private readonly waiting: Array<HeldRequest & { release: () => void }> = [];

  hold(endpoint: string, phase: 'before' | 'after'): Promise<void> {
    return new Promise((resolve) =>
      this.waiting.push({ seq: ++this.seq, endpoint, phase, held_at: systemClock.now().toISOString(), release: resolve }),
    );
  }

  list(): HeldRequest[] {
    return this.waiting.map(({ release: _release, ...held }) => held);
  }

  /** Releases the `count` oldest held requests (all when absent); answers how many. */
  release(count?: number): number {
    const released = this.waiting.splice(0, count ?? this.waiting.length);
    for (const held of released) held.release();
    return released.length;
  }
}

/** Everything a request handler may touch. */
export class SimulatorContext {
  readonly state: SimulatorState;
  readonly auth: KlearAuthenticator;
  readonly faults: FaultInjector;
  readonly rateLimiter: RateLimiter;
  readonly holds = new HeldRequests();
  /** Set in the test suite: every answer is validated against the OpenAPI contract. */
  readonly conformance = ConformanceRecorder.fromEnvironment();
  readonly counters = {
    withdrawalPosts: [] as WithdrawalPostRecord[],
    requestsByEndpoint: {} as Record<string, number>,
  };

  constructor(readonly options: SimulatorOptions) {
    this.state = new SimulatorState(options);
    this.auth = new KlearAuthenticator(options);
    this.faults = new FaultInjector(options.faultSeed);
    this.rateLimiter = new RateLimiter(RATE_LIMIT_TIERS[options.tier]);
  }
}
