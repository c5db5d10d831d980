import { ApiToken } from './api-token.entity';
import { AppUser } from './app-user.entity';
import { AuditLogEntry } from './audit-log-entry.entity';

export * from './api-token.entity';
export * from './app-user.entity';
export * from './audit-log-entry.entity';

/** Every entity of the schema. A new entity is added here and gets a migration. */
export const ALL_ENTITIES = [AppUser, ApiToken, AuditLogEntry];
