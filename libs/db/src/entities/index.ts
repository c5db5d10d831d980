import { ApiToken } from './api-token.entity';
import { AppUser } from './app-user.entity';
import { AdminProposal } from './admin-proposal.entity';
import { AuditCheckpoint } from './audit-checkpoint.entity';
import { AuditLogEntry } from './audit-log-entry.entity';
import { UserInvitation } from './user-invitation.entity';
import { EXPORTS_ENTITIES } from './exports/index';
import { JOBS_ENTITIES } from './jobs/index';
import { KLEAR_ENTITIES } from './klear/index';
import { LEDGER_ENTITIES } from './ledger/index';
import { RECONCILIATION_ENTITIES } from './reconciliation/index';
import { SECRETS_ENTITIES } from './secrets/index';
import { WITHDRAWALS_ENTITIES } from './withdrawals/index';

export * from './admin-proposal.entity';
export * from './api-token.entity';
export * from './app-user.entity';
export * from './audit-checkpoint.entity';
export * from './audit-log-entry.entity';
export * from './exports/index';
export * from './jobs/index';
export * from './klear/index';
export * from './ledger/index';
export * from './reconciliation/index';
export * from './secrets/index';
export * from './user-invitation.entity';
export * from './withdrawals/index';

/** Every entity of the schema. A new entity is added here and gets a migration. */
export const ALL_ENTITIES = [
  AppUser,
  ApiToken,
  UserInvitation,
  AdminProposal,
  AuditLogEntry,
  AuditCheckpoint,
  ...JOBS_ENTITIES,
  ...KLEAR_ENTITIES,
  ...LEDGER_ENTITIES,
  ...SECRETS_ENTITIES,
  ...EXPORTS_ENTITIES,
  ...WITHDRAWALS_ENTITIES,
  ...RECONCILIATION_ENTITIES,
];
