import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What FunctionsResolveOwnTables left (docs/invariants.md, "Ledger"): its `search_path = public,
 * pg_temp` finds a name in `public` first, but a name `public` does not hold is still looked for in
 * the session's temporary tables. Two kinds of names can be missing from `public`:
 *
 * - A month's partition before it is made, or after it is archived. Making, archiving and restoring a
 *   month asked `to_regclass(part)`: a temporary table named like a missing month's partition made
 *   `partition_ensure_month` skip the month (its rows then went to the default partition), archiving
 *   go on to a DETACH that fails, restoring refuse. They now ask `to_regclass('public.<part>')`.
 * - Every table, for `klear_subtrader_latest_figures_recomputed()`, which has no path of its own so
 *   that PostgreSQL can inline it: called directly, it read a temporary `klear_obligation`. Its body
 *   now names the four tables it reads as `public.<table>` (inlining is kept: a qualified name is not a
 *   path).
 *
 * Either way a session could mislead only its own call; it can no longer. The functions are rewritten
 * from their own definitions (pg_get_functiondef, CREATE OR REPLACE keeps owner and grants), each
 * required to hold what is replaced, so this records exactly what changed.
 */
const PARTITION_FUNCTIONS = [
  'archive.ensure_month_create(timestamptz)',
  'archive.archive_month_detach(timestamptz)',
  'partition_restore_month(timestamptz)',
];
const LATEST_FIGURES = 'klear_subtrader_latest_figures_recomputed()';
const LATEST_FIGURES_TABLES = 'klear_obligation|klear_settlement_summary|klear_margin_detail|klear_funding_summary';

/** Rewrites `fn` with `pattern` replaced by `replacement` (PostgreSQL regexp, every match); refuses when nothing matches. */
async function rewrite(q: QueryRunner, fn: string, pattern: string, replacement: string): Promise<void> {
  const [{ def, changed }] = (await q.query(
    `SELECT d AS def, regexp_replace(d, $2, $3, 'g') AS changed FROM pg_get_functiondef($1::regprocedure) d`,
    [fn, pattern, replacement],
  )) as Array<{ def: string; changed: string }>;
  if (changed === def) throw new Error(`PartitionNamesQualified: ${fn} holds no ${pattern}`);
  await q.query(changed);
}

export class PartitionNamesQualified1796234800000 implements MigrationInterface {
  name = 'PartitionNamesQualified1796234800000';

  public async up(q: QueryRunner): Promise<void> {
    for (const fn of PARTITION_FUNCTIONS) await rewrite(q, fn, 'to_regclass\\(part\\)', "to_regclass(format('public.%I', part))");
    await rewrite(q, LATEST_FIGURES, `([^.a-z_])(${LATEST_FIGURES_TABLES})([^a-z_])`, '\\1public.\\2\\3');
  }

  public async down(q: QueryRunner): Promise<void> {
    await rewrite(q, LATEST_FIGURES, `public\\.(${LATEST_FIGURES_TABLES})([^a-z_])`, '\\1\\2');
    for (const fn of PARTITION_FUNCTIONS) await rewrite(q, fn, "to_regclass\\(format\\('public\\.%I', part\\)\\)", 'to_regclass(part)');
  }
}
