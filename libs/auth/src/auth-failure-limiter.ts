import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { ClockThrottlerStorage, TooManyRequests } from '@app/http';

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
  private readonly settings: AppConfig['api']['authFailures'];

  constructor(
    private readonly storage: ClockThrottlerStorage,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.settings = config.api.authFailures;
  }

  /** Throws 429 while the client is blocked. */
  assertNotBlocked(client: string): void {
    const seconds = this.storage.blockedForSeconds(key(client));
    if (seconds > 0) throw throttled(seconds);
  }

  /** Counts a failure; throws 429 when it is one too many. */
  recordFailure(client: string): void {
    const { limit, windowSeconds, blockSeconds } = this.settings;
    const record = this.storage.hit(key(client), windowSeconds * 1000, limit, blockSeconds * 1000);
    if (record.isBlocked) throw throttled(record.timeToBlockExpire);
  }
}

const key = (client: string) => `auth-failure:${client}`;

const throttled = (seconds: number) =>
  new TooManyRequests(`too many failed authentications from this address; retry after ${seconds} s`, seconds, 'AUTHENTICATION_THROTTLED');
