import type { QueryRunner } from 'typeorm';

/**
 * Rewrites a function from its own definition (pg_get_functiondef; CREATE OR REPLACE keeps owner and
 * grants): each edit replaces text the definition must hold exactly `times` times (once by default), so a
 * migration records exactly what it changed and refuses a definition it does not know.
 */
export async function editFunction(q: QueryRunner, fn: string, edits: Array<[string, string, number?]>): Promise<void> {
  const [{ def }] = (await q.query(`SELECT pg_get_functiondef($1::regprocedure) AS def`, [fn])) as Array<{ def: string }>;
  let changed = def;
  for (const [from, to, times = 1] of edits) {
    const found = changed.split(from).length - 1;
    if (found !== times) throw new Error(`${fn} holds ${JSON.stringify(from)} ${found} times, not ${times}`);
    changed = changed.split(from).join(to);
  }
  await q.query(changed);
}
