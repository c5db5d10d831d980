import { type DynamicModule, Global, Module } from '@nestjs/common';
import { Clock, systemClock } from './clock';

/**
 * Provides the Clock to every module (inject it by its class: `constructor(private readonly clock: Clock)`).
 * Production passes nothing and gets the system clock; tests and the demo pass their own.
 */
@Global()
@Module({})
export class ClockModule {
  static forRoot(clock: Clock = systemClock): DynamicModule {
    return { module: ClockModule, providers: [{ provide: Clock, useValue: clock }], exports: [Clock] };
  }
}
