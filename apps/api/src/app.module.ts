import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AuditModule } from '@app/audit';
import { AuthModule } from '@app/auth';
import { type Clock, ClockModule } from '@app/clock';
import { type AppConfig, ConfigModule } from '@app/config';
import { DbModule } from '@app/db';
import { type KlearClientOptions, KlearClientModule } from '@app/klear-client';
import { MetricsModule } from '@app/metrics';
import { httpLoggerParams } from '@app/logging';
import { AdminApiModule } from './admin/admin-api.module';
import { AuditController } from './audit/audit.controller';
import { ExportsApiModule } from './exports/exports-api.module';
import { HealthController } from './health/health.controller';
import { HealthRepository } from './health/health.repository';
import { HealthService } from './health/health.service';
import { JobsApiModule } from './jobs/jobs-api.module';
import { KlearDataApiModule } from './klear-data/klear-data-api.module';
import { LedgerApiModule } from './ledger/ledger-api.module';
import { NotificationsApiModule } from './notifications/notifications-api.module';
import { ReconciliationApiModule } from './reconciliation/reconciliation-api.module';
import { ApiSecurityModule } from './security/api-security.module';
import { SessionController } from './console/session.controller';
import { WithdrawalsApiModule } from './withdrawals/withdrawals-api.module';

@Module({})
export class ApiModule {
  /**
   * `clock`: the product's time source (tests choose it; production uses the system clock);
   * `klearClient`: client settings beyond configuration (tests).
   */
  static forRoot(config: AppConfig, options: { clock?: Clock; klearClient?: Partial<KlearClientOptions> } = {}): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        ConfigModule.forRoot(config),
        ClockModule.forRoot(options.clock),
        LoggerModule.forRoot(httpLoggerParams('api', config.log.level)),
        DbModule.forRoot({ applicationName: 'klear-api' }),
        ApiSecurityModule.forRoot(config),
        AuditModule,
        KlearClientModule.forRoot(options.klearClient),
        AuthModule,
        AdminApiModule,
        JobsApiModule,
        ExportsApiModule,
        KlearDataApiModule,
        LedgerApiModule,
        ReconciliationApiModule,
        WithdrawalsApiModule,
        NotificationsApiModule,
        MetricsModule.forRoot('api'),
      ],
      controllers: [HealthController, AuditController, SessionController],
      providers: [HealthRepository, HealthService],
    };
  }
}
