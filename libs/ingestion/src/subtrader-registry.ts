import type { SqlTransaction } from './sql-transaction';

/**
 * Records subtraders seen in Klear data in the shared `subtrader` registry (the ledger owns the
 * table; Klear ingestion only sets `first_seen_in_klear_at`, once). Empty ids are not subtraders.
 */
export async function recordSubtradersSeenInKlear(tx: SqlTransaction, ids: Iterable<string>, seenAt: Date): Promise<number> {
  const distinct = [...new Set([...ids].filter((id) => id !== ''))].sort();
  if (distinct.length === 0) return 0;
  const rows = await tx.query(
    `INSERT INTO subtrader (subtrader_id, first_seen_in_klear_at)
     SELECT id, $2 FROM unnest($1::text[]) AS t(id)
     ON CONFLICT (subtrader_id) DO UPDATE SET first_seen_in_klear_at = EXCLUDED.first_seen_in_klear_at
       WHERE subtrader.first_seen_in_klear_at IS NULL
     RETURNING subtrader_id`,
    [distinct, seenAt],
  );
  return rows.length;
}
