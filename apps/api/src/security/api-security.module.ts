import { type DynamicModule, Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR, Reflector } from '@nestjs/core';
import { AuthFailureCounter } from '@app/auth';
import type { AppConfig } from '@app/config';
import { ApiRateLimits, ExpensiveRouteGuard, JsonBodyInterceptor } from '@app/http';

/**
 * What protects the API from hostile clients, in one place: the rate limits (failed
 * authentications per client address, expensive routes per user) and JSON bodies read only after
 * the guards, with a per-route limit. docs/security.md describes each control.
 */
@Global()
@Module({})
export class ApiSecurityModule {
  static forRoot(config: AppConfig): DynamicModule {
    const { authFailures, expensiveRoutes } = config.api;
    return {
      module: ApiSecurityModule,
      providers: [
        {
          provide: ApiRateLimits,
          useValue: new ApiRateLimits({
            authFailures: { limit: authFailures.limit, windowSeconds: authFailures.windowSeconds, blockSeconds: authFailures.blockSeconds },
            expensiveRoutes: {
              limit: expensiveRoutes.limit,
              windowSeconds: expensiveRoutes.windowSeconds,
              blockSeconds: expensiveRoutes.windowSeconds,
            },
          }),
        },
        // The auth library counts failed authentications in the API's rate limit store.
        { provide: AuthFailureCounter, inject: [ApiRateLimits], useFactory: (limits: ApiRateLimits) => limits.authFailures },
        ExpensiveRouteGuard,
        {
          provide: APP_INTERCEPTOR,
          inject: [Reflector],
          useFactory: (reflector: Reflector) =>
            new JsonBodyInterceptor(reflector, {
              defaultBytes: config.api.defaultBodyLimitKb * 1024,
              largeBytes: config.api.bodyLimitMb * 1024 * 1024,
            }),
        },
      ],
      exports: [ApiRateLimits, AuthFailureCounter, ExpensiveRouteGuard],
    };
  }
}
