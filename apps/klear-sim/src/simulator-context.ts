import { RATE_LIMIT_TIERS } from '@app/klear-contract';
import { KlearAuthenticator, RateLimiter } from './auth';
import { FaultInjector } from './faults';
import type { SimulatorOptions } from './options';
import { SimulatorState } from './state';

export interface WithdrawalPostRecord {
  received_at: string;
  simulated_at: string;
  amount: string;
  outcome: string;
  id: string | undefined;
}

/** Everything a request handler may touch. */
export class SimulatorContext {
  readonly state: SimulatorState;
  readonly auth: KlearAuthenticator;
  readonly faults: FaultInjector;
  readonly rateLimiter: RateLimiter;
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
