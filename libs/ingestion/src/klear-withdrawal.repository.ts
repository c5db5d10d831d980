import type { EntityManager } from 'typeorm';

/**
 * For the withdrawal workflow: record a withdrawal Klear accepted (its id), in the workflow's own
 * transaction; the withdrawal_status job then polls it until it is processed or failed.
 */
export async function registerKlearWithdrawal(manager: EntityManager, withdrawal: { id: string; amountCenticents: bigint }): Promise<void> {
  await manager.query(
    `INSERT INTO klear_withdrawal (id, amount_centicents, registered_at) VALUES ($1, $2, now()) ON CONFLICT (id) DO NOTHING`,
    [withdrawal.id, withdrawal.amountCenticents.toString()],
  );
}

/** Status history of a Klear withdrawal, oldest first. */
export function klearWithdrawalStatuses(manager: EntityManager, id: string): Promise<Array<{ status: string; observed_at: Date }>> {
  return manager.query(`SELECT status, observed_at FROM klear_withdrawal_status WHERE withdrawal_id = $1 ORDER BY observed_at, id`, [id]);
}
