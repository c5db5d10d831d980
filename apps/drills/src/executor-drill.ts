import 'reflect-metadata';
import { type DynamicModule, Global, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuditModule } from '@app/audit';
import { ClockModule, OffsetClock } from '@app/clock';
import { type AppConfig, ConfigModule, loadConfig } from '@app/config';
import { DbModule } from '@app/db';
import { KlearClientModule } from '@app/klear-client';
import {
  EXECUTOR_HOOKS,
  type ExecutorCrashPoint,
  type ExecutorHooks,
  type ExecutorRunSummary,
  WithdrawalExecutor,
  WithdrawalsModule,
} from '@app/withdrawals';

/**
 * A fault drill: one executor run in this process, which announces each crash point on stdout and,
 * when WITHDRAWAL_DRILL_CRASH_AT names that point, kills itself with SIGKILL there (no cleanup, no
 * rollback of what was committed, the connection simply drops), like a crashed worker.
 */
export function drillHooks(
  crashAt: string | undefined,
  write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): ExecutorHooks {
  return {
    at(point: ExecutorCrashPoint) {
      write(`REACHED ${point}`);
      if (point === crashAt) process.kill(process.pid, 'SIGKILL');
    },
  };
}

/** WITHDRAWAL_DRILL_CLOCK_OFFSET_MS: the drill's clock runs that far ahead of the machine's (a restart after a long outage, without waiting for it). */
function drillClock(offsetMs: string | undefined): OffsetClock | undefined {
  if (offsetMs === undefined || offsetMs === '') return undefined;
  if (!/^[0-9]{1,12}$/.test(offsetMs)) throw new Error('WITHDRAWAL_DRILL_CLOCK_OFFSET_MS must be a whole number of milliseconds');
  return new OffsetClock(Number(offsetMs));
}

@Module({})
class DrillModule {
  static forRoot(config: AppConfig): DynamicModule {
    @Global()
    @Module({
      providers: [{ provide: EXECUTOR_HOOKS, useValue: drillHooks(process.env.WITHDRAWAL_DRILL_CRASH_AT) }],
      exports: [EXECUTOR_HOOKS],
    })
    class DrillHooksModule {}
    return {
      module: DrillModule,
      imports: [
        ConfigModule.forRoot(config),
        ClockModule.forRoot(drillClock(process.env.WITHDRAWAL_DRILL_CLOCK_OFFSET_MS)),
        DbModule.forRoot({ applicationName: 'withdrawal-drill', migrate: false }),
        AuditModule,
        KlearClientModule.forRoot(),
        DrillHooksModule,
        WithdrawalsModule,
      ],
    };
  }
}

export async function runExecutorDrill(): Promise<ExecutorRunSummary> {
  const app = await NestFactory.createApplicationContext(DrillModule.forRoot(loadConfig()), { logger: false });
  try {
    return await app.get(WithdrawalExecutor).runOnce();
  } finally {
    await app.close();
  }
}
