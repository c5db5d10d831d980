import { DynamicModule, Module } from '@nestjs/common';
import { AuditModule } from '@app/audit';
import { UsersModule } from '@app/auth';
import { ClockModule } from '@app/clock';
import { type AppConfig, ConfigModule } from '@app/config';
import { DbModule } from '@app/db';
import { CliRepository } from './cli.repository';

@Module({})
export class CliModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CliModule,
      imports: [
        ConfigModule.forRoot(config),
        ClockModule.forRoot(),
        DbModule.forRoot({ applicationName: 'klear-cli' }),
        AuditModule,
        UsersModule,
      ],
      providers: [CliRepository],
    };
  }
}
