import { Injectable } from '@nestjs/common';
import { ApiRateLimits, TooManyRequests } from '@app/http';

/**
 * Counts failed authentications per client address, whatever the credential type (API token today,
 * the console's session cookie later): over API_AUTH_FAILURE_LIMIT failures within
 * API_AUTH_FAILURE_WINDOW_SECONDS the client is answered 429 (Retry-After) for
 * API_AUTH_FAILURE_BLOCK_SECONDS, even with a valid credential, so guessing cannot go on and a
 * correct guess is not told apart while blocked. A request without any credential is not a guess
 * and is not counted.
 */
@Injectable()
export class AuthFailureLimiter {
  constructor(private readonly limits: ApiRateLimits) {}

  /** Throws 429 while the client is blocked. */
  async assertNotBlocked(client: string): Promise<void> {
    const seconds = await this.limits.authFailures.blockedForSeconds(client);
    if (seconds > 0) throw throttled(seconds);
  }

  /** Counts a failure; throws 429 when it is one too many. */
  async recordFailure(client: string): Promise<void> {
    const seconds = await this.limits.authFailures.hit(client);
    if (seconds > 0) throw throttled(seconds);
  }
}

const throttled = (seconds: number) =>
  new TooManyRequests(`too many failed authentications from this address; retry after ${seconds} s`, seconds, 'AUTHENTICATION_THROTTLED');
