import type { AuditEvent } from '@app/audit';
import type { StoredSecretRepository } from '@app/secrets';
import type { DataSource, EntityManager } from 'typeorm';
import { z } from 'zod';
import type { KlearCredentials } from './klear-credentials';

/** Row name of the Klear credentials in `stored_secret` (also bound into the ciphertext). */
export const KLEAR_CREDENTIALS_SECRET = 'klear.credentials';

const storedCredentialsSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('bearer'), adminUserId: z.string().min(1), accessToken: z.string().min(1) }),
  z.object({ mode: z.literal('session'), email: z.string().min(1), password: z.string().min(1), mfaCode: z.string().optional() }),
]);

export interface AuditRecorder {
  record(event: AuditEvent, manager?: EntityManager): Promise<unknown>;
}

/** Klear credentials kept encrypted in the database (AES-256-GCM through StoredSecretRepository). */
export class KlearCredentialsRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly secrets: StoredSecretRepository,
    private readonly audit?: AuditRecorder,
  ) {}

  /** Replaces the stored credentials; the audit row names the mode, never a secret. */
  async save(credentials: KlearCredentials, actor: string): Promise<void> {
    const checked = storedCredentialsSchema.parse(credentials);
    await this.dataSource.transaction(async (manager) => {
      await this.secrets.put(KLEAR_CREDENTIALS_SECRET, JSON.stringify(checked), manager);
      await this.audit?.record(
        {
          actor,
          action: 'klear.credentials.stored',
          entityType: 'stored_secret',
          entityId: KLEAR_CREDENTIALS_SECRET,
          details: { mode: checked.mode },
        },
        manager,
      );
    });
  }

  /** The stored credentials, or undefined when none are stored. */
  async load(): Promise<KlearCredentials | undefined> {
    const text = await this.secrets.get(KLEAR_CREDENTIALS_SECRET);
    if (text === undefined) return undefined;
    const parsed = storedCredentialsSchema.safeParse(JSON.parse(text));
    // Say what is wrong by field name only: the values are secrets.
    if (!parsed.success)
      throw new Error(`stored Klear credentials are invalid: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
    return parsed.data;
  }
}
