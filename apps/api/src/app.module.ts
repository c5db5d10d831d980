import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AuditModule } from '@app/audit';
import { AuthModule } from '@app/auth';
import { type AppConfig, ConfigModule } from '@app/config';
import { DbModule } from '@app/db';
import { httpLoggerParams } from '@app/http';
import { AuditController } from './audit/audit.controller';
import { HealthController } from './health/health.controller';
import { HealthService } from './health/health.service';
import { UsersController } from './users/users.controller';

@Module({})
export class ApiModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot(httpLoggerParams('api', config.log.level)),
        DbModule.forRoot({ applicationName: 'klear-api' }),
        AuditModule,
        AuthModule,
      ],
      controllers: [HealthController, UsersController, AuditController],
      providers: [HealthService],
    };
  }
}
