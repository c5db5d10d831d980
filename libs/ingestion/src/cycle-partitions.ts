import { ensureCyclePartitions } from '@app/db';
import type { SqlTransaction } from './ingestion-transaction.repository';

/** The month partition of an obligation's cycle exists before its details go in (usually made ahead: a no-op). */
export async function ensureCyclePartition(tx: Pick<SqlTransaction, 'query'>, cycle: string): Promise<void> {
  await ensureCyclePartitions(tx, [cycle]);
}
