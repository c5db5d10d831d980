import { type DynamicModule, Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR, Reflector } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { Clock } from '@app/clock';
import type { AppConfig } from '@app/config';
import { ClockThrottlerStorage, EXPENSIVE_THROTTLER, JsonBodyInterceptor } from '@app/http';

/**
 * What protects the API from hostile clients, in one place: the rate-limit counters (failed
 * authentications, expensive routes) on the product's clock, and JSON bodies read only after the
 * guards with a per-route limit. docs/security.md describes each control.
 */
@Global()
@Module({})
export class ApiSecurityModule {
  static forRoot(config: AppConfig): DynamicModule {
    const { limit, windowSeconds } = config.api.expensiveRoutes;
    return {
      module: ApiSecurityModule,
      imports: [
        ThrottlerModule.forRootAsync({
          inject: [ClockThrottlerStorage],
          useFactory: (storage: ClockThrottlerStorage) => ({
            throttlers: [{ name: EXPENSIVE_THROTTLER, limit, ttl: windowSeconds * 1000 }],
            storage,
            setHeaders: false,
          }),
        }),
      ],
      providers: [
        { provide: ClockThrottlerStorage, inject: [Clock], useFactory: (clock: Clock) => new ClockThrottlerStorage(() => clock.nowMs()) },
        {
          provide: APP_INTERCEPTOR,
          inject: [Reflector],
          useFactory: (reflector: Reflector) =>
            new JsonBodyInterceptor(reflector, { defaultBytes: config.api.defaultBodyLimitKb * 1024, largeBytes: config.api.bodyLimitMb * 1024 * 1024 }),
        },
      ],
      exports: [ClockThrottlerStorage],
    };
  }
}
