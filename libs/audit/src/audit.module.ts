import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { Keyring } from '@app/secrets';
import { AuditRepository } from './audit.repository';
import { AUDIT_KEYRING, AuditService } from './audit.service';

/** The audit log; its rows are signed with the keyring of the configuration (SECRETS_KEY) when there is one. */
@Global()
@Module({
  providers: [
    { provide: AUDIT_KEYRING, inject: [APP_CONFIG], useFactory: (config: AppConfig) => Keyring.fromConfig(config) },
    AuditRepository,
    AuditService,
  ],
  exports: [AuditService, AUDIT_KEYRING],
})
export class AuditModule {}
