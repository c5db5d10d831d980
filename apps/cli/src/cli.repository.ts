import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AuditService } from '@app/audit';
import { defaultPartitionRows, ensureCyclePartitions, ensureCyclePartitionsAhead } from '@app/db';
import { KlearCredentialsRepository } from '@app/klear-client';
import { ReconciliationSummaries, ReconciliationSummariesRepository } from '@app/reconciliation';
import { RetentionRepository } from '@app/retention';
import { type SecretBox, StoredSecretRepository } from '@app/secrets';

/**
 * The command line's database access: the repositories its commands drive, built on the one DataSource
 * of the command's application context (the commands themselves never hold it), and the partition
 * maintenance the administrator runs by hand.
 */
@Injectable()
export class CliRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  storedSecrets(box: SecretBox): StoredSecretRepository {
    return new StoredSecretRepository(this.dataSource, box);
  }

  klearCredentials(box: SecretBox, audit: AuditService): KlearCredentialsRepository {
    return new KlearCredentialsRepository(this.dataSource, this.storedSecrets(box), audit);
  }

  retention(): RetentionRepository {
    return new RetentionRepository(this.dataSource);
  }

  reconciliationSummaries(audit: AuditService): ReconciliationSummaries {
    return new ReconciliationSummaries(new ReconciliationSummariesRepository(this.dataSource, audit));
  }

  defaultPartitionRows(): ReturnType<typeof defaultPartitionRows> {
    return defaultPartitionRows(this.dataSource);
  }

  /** Creates the partitions of one month (`YYYY-MM`); a no-op where they exist. */
  ensureMonth(month: string): Promise<void> {
    return ensureCyclePartitions(this.dataSource, [`${month}-01T00:00:00Z`]);
  }

  /** Creates the partitions of `now`'s month and the next one. */
  ensureAhead(now: Date): Promise<void> {
    return ensureCyclePartitionsAhead(this.dataSource, now);
  }
}
