import { Injectable } from '@nestjs/common';
import { TooManyRequests } from '@app/errors';

/**
 * Where failed authentications are counted per client (the API provides its rate limit store: libs/http
 * ApiRateLimits.authFailures), so that this library does not depend on the HTTP layer.
 */
export abstract class AuthFailureCounter {
  /** Seconds the client stays blocked, 0 when it is not. */
  abstract blockedForSeconds(client: string): Promise<number>;
  /** Counts one failure; seconds the client is now blocked, 0 when it is not. */
  abstract hit(client: string): Promise<number>;
}

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
  constructor(private readonly counter: AuthFailureCounter) {}

  /** Throws 429 while the client is blocked. */
  async assertNotBlocked(client: string): Promise<void> {
    const seconds = await this.counter.blockedForSeconds(client);
    if (seconds > 0) throw throttled(seconds);
  }

  /** Counts a failure; throws 429 when it is one too many. */
  async recordFailure(client: string): Promise<void> {
    const seconds = await this.counter.hit(client);
    if (seconds > 0) throw throttled(seconds);
  }
}

const throttled = (seconds: number) =>
  new TooManyRequests(`too many failed authentications from this address; retry after ${seconds} s`, seconds, 'AUTHENTICATION_THROTTLED');
