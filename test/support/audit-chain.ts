/** Helpers of the audit-chain tests: rows appended the ordinary way, and rows edited behind the database's back. */
import type { AuditService } from '@app/audit';
import type { TestDatabase } from '@app/testing';

export async function recordRows(audit: AuditService, n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i++)
    await audit.record({ actor: 'alice', action: 'thing.done', entityType: 'thing', entityId: `t${i}` });
}

/** Edits rows behind the database's back, as someone with superuser rights and no key would. */
export async function tamper(db: TestDatabase, sql: string, params: unknown[] = []): Promise<void> {
  await db.dataSource.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete');
  try {
    await db.dataSource.query(sql, params);
  } finally {
    await db.dataSource.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete');
  }
}
