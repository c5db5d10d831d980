import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AuditModule } from '@app/audit';
import { type Clock, ClockModule } from '@app/clock';
import { type AppConfig, ConfigModule } from '@app/config';
import { DbModule } from '@app/db';
import { httpLoggerParams } from '@app/logging';
import { ExportsModule } from '@app/exports';
import { IngestionModule } from '@app/ingestion';
import { JobsModule } from '@app/jobs';
import { type KlearClientOptions, KlearClientModule } from '@app/klear-client';
import { MetricsModule } from '@app/metrics';
import { NotificationJobsModule } from '@app/notifications';
import { ReconciliationModule } from '@app/reconciliation';
import { WithdrawalJobsModule } from '@app/withdrawals';

/** The worker: schedules only. Each capability's jobs come with its module. */
@Module({})
export class WorkerModule {
  /** `klearClient`: client settings beyond configuration (tests shorten backoff and breaker pauses). */
  static forRoot(config: AppConfig, options: { klearClient?: Partial<KlearClientOptions>; clock?: Clock } = {}): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot(config),
        ClockModule.forRoot(options.clock),
        LoggerModule.forRoot(httpLoggerParams('worker', config.log.level)),
        DbModule.forRoot({ applicationName: 'klear-worker' }),
        AuditModule,
        KlearClientModule.forRoot(options.klearClient),
        JobsModule.forRoot({ schedule: true }),
        IngestionModule,
        ReconciliationModule,
        WithdrawalJobsModule,
        ExportsModule,
        NotificationJobsModule,
        MetricsModule.forRoot('worker'),
      ],
    };
  }
}
