import 'reflect-metadata';
import { type DynamicModule, Global, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuditModule } from '@app/audit';
import { ClockModule } from '@app/clock';
import { type AppConfig, ConfigModule, loadConfig } from '@app/config';
import { DbModule } from '@app/db';
import {
  EmailChannel,
  NOTIFICATION_SENDER_HOOKS,
  NotificationSender,
  NotificationsModule,
  type SenderHooks,
  type SenderStep,
  type SenderSummary,
} from '@app/notifications';

/**
 * A fault drill: one sender run in this process that kills itself with SIGKILL (no cleanup, the
 * connections simply drop) at the n-th time it reaches a step, NOTIFY_DRILL_CRASH_AT=<step>:<n>
 * (claimed, sent or recorded), like a worker dying mid-batch.
 */
export function senderDrillHooks(
  crashAt: string | undefined,
  write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): SenderHooks {
  const [step, nth] = (crashAt ?? '').split(':');
  let seen = 0;
  return {
    at(reached: SenderStep, deliveryId: string) {
      write(`REACHED ${reached} ${deliveryId}`);
      if (reached === step && ++seen === Number(nth)) process.kill(process.pid, 'SIGKILL');
    },
  };
}

@Module({})
class SenderDrillModule {
  static forRoot(config: AppConfig): DynamicModule {
    @Global()
    @Module({
      providers: [{ provide: NOTIFICATION_SENDER_HOOKS, useValue: senderDrillHooks(process.env.NOTIFY_DRILL_CRASH_AT) }],
      exports: [NOTIFICATION_SENDER_HOOKS],
    })
    class SenderDrillHooksModule {}
    return {
      module: SenderDrillModule,
      imports: [
        ConfigModule.forRoot(config),
        ClockModule.forRoot(),
        DbModule.forRoot({ applicationName: 'notification-drill', migrate: false }),
        AuditModule,
        SenderDrillHooksModule,
        NotificationsModule,
      ],
    };
  }
}

export async function runSenderDrill(): Promise<SenderSummary> {
  const app = await NestFactory.createApplicationContext(SenderDrillModule.forRoot(loadConfig()), { logger: false });
  try {
    return await app.get(NotificationSender).runOnce();
  } finally {
    app.get(EmailChannel).close();
    await app.close();
  }
}
