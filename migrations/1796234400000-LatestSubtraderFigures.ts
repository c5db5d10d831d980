import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 18: GET /subtraders read each page's latest figures from three tables that grow with every
 * cycle (the settlement and funding summaries of every obligation ever held, the month's margin rows):
 * three index descents a page, each one level deeper as history accumulates (16 buffers a page of 51 on
 * day 1 of the growth world, 19 on day 10, 21 on day 30). The latest cycle's figures of each subtrader
 * are now kept in `klear_subtrader_latest_figures`, one row per subtrader with figures in that cycle,
 * and a page reads them as one key range of a table whose size is the registry's, not history's.
 *
 * What a row holds is what the page computed before, for the latest cycle (every obligation with the
 * greatest execution_time, every asset class): the sums of its settlement summary (pnl, fees, total;
 * NULL when the subtrader has no details in it), of its margin rows (requirement and delta; NULL when
 * none), and of its funding summary (0 and 0 when none). `klear_subtrader_latest_figures_recomputed()`
 * states that from the source tables; `klear_subtrader_latest_figures_refresh()` makes the table equal
 * to it (rows of subtraders no longer in the latest cycle leave, changed rows are rewritten, the same
 * rows are not touched). Ingestion calls the refresh in the transaction that stores an obligation of the
 * latest cycle or changes a held one (upsertObligation, under an advisory lock so that two such
 * transactions refresh one after the other and the later sees the earlier's rows; READ COMMITTED, so the
 * refresh after the lock sees what the earlier one committed); an archive rebuild empties it with the
 * other derived tables and refills it through the same path; retention never moves the latest cycle's
 * month (it keeps the month of the previous cycle of the oldest cycle it keeps, `reasonsToKeep`);
 * `recon:verify-summaries` compares it with the recomputed rows and `recon:rebuild-summaries` refreshes
 * it. Each row carries its cycle and a page uses only rows of the cycle that is latest when it reads:
 * a stale row shows as no figures, never as another cycle's.
 *
 * Every row is rewritten once a cycle. Half of each page is left free (fillfactor 50) and no indexed
 * column changes, so each rewrite is a heap-only tuple on the row's own page and the page prunes the
 * version it replaced when next read or written, once no snapshot still sees it: a page's rows stay on
 * their pages between VACUUMs (in the growth bench, whose databases run without autovacuum, a page of
 * /subtraders read 9, 11 and 13 buffers on days 1, 10 and 30 of the quick world with the pages full,
 * 10, 10 and 12 with them half free). Rows removed and added again leave index entries to VACUUM.
 */
export class LatestSubtraderFigures1796234400000 implements MigrationInterface {
  name = 'LatestSubtraderFigures1796234400000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "klear_subtrader_latest_figures" ("subtrader_id" text NOT NULL, "cycle" TIMESTAMP WITH TIME ZONE NOT NULL,
      "pnl_centicents" bigint, "fees_centicents" bigint, "total_centicents" bigint,
      "maintenance_margin_centicents" bigint, "maintenance_margin_delta_centicents" bigint,
      "funding_centicents" bigint NOT NULL, "funding_payment_count" bigint NOT NULL,
      CONSTRAINT "PK_klear_subtrader_latest_figures" PRIMARY KEY ("subtrader_id")) WITH (fillfactor = 50)`);
    await q.query(`CREATE FUNCTION klear_subtrader_latest_figures_recomputed() RETURNS SETOF klear_subtrader_latest_figures
      LANGUAGE sql STABLE AS $$
      WITH latest AS (SELECT max(execution_time) AS cycle, array_agg(id) AS ids FROM klear_obligation
                       WHERE execution_time = (SELECT max(execution_time) FROM klear_obligation)),
           d AS (SELECT subtrader_id, sum(pnl_centicents) AS pnl, sum(fees_centicents) AS fees, sum(total_centicents) AS total
                   FROM klear_settlement_summary WHERE obligation_id = ANY((SELECT ids FROM latest)::text[]) GROUP BY subtrader_id),
           m AS (SELECT subtrader_id, sum(maintenance_margin_centicents) AS mm, sum(maintenance_margin_delta_centicents) AS delta
                   FROM klear_margin_detail WHERE cycle = (SELECT cycle FROM latest) AND obligation_id = ANY((SELECT ids FROM latest)::text[])
                  GROUP BY subtrader_id),
           f AS (SELECT subtrader_id, sum(funding_centicents) AS funding, sum(payment_count) AS payments
                   FROM klear_funding_summary WHERE obligation_id = ANY((SELECT ids FROM latest)::text[]) GROUP BY subtrader_id),
           s AS (SELECT subtrader_id FROM d UNION SELECT subtrader_id FROM m UNION SELECT subtrader_id FROM f)
      SELECT s.subtrader_id, l.cycle, d.pnl::bigint, d.fees::bigint, d.total::bigint, m.mm::bigint, m.delta::bigint,
             coalesce(f.funding, 0)::bigint, coalesce(f.payments, 0)::bigint
        FROM s CROSS JOIN latest l LEFT JOIN d USING (subtrader_id) LEFT JOIN m USING (subtrader_id) LEFT JOIN f USING (subtrader_id)
       WHERE s.subtrader_id <> '' $$`);
    await q.query(`CREATE FUNCTION klear_subtrader_latest_figures_refresh() RETURNS integer LANGUAGE sql VOLATILE AS $$
      WITH r AS MATERIALIZED (SELECT * FROM klear_subtrader_latest_figures_recomputed()),
           gone AS (DELETE FROM klear_subtrader_latest_figures x WHERE NOT EXISTS (SELECT 1 FROM r WHERE r.subtrader_id = x.subtrader_id) RETURNING 1),
           -- Only rows that differ are written: ON CONFLICT DO UPDATE locks (and so rewrites) every row it meets.
           written AS (
             INSERT INTO klear_subtrader_latest_figures AS x
             SELECT r.* FROM r LEFT JOIN klear_subtrader_latest_figures f ON f.subtrader_id = r.subtrader_id
              WHERE (f.*) IS DISTINCT FROM (r.*) ORDER BY r.subtrader_id
             ON CONFLICT (subtrader_id) DO UPDATE SET cycle = EXCLUDED.cycle,
               pnl_centicents = EXCLUDED.pnl_centicents, fees_centicents = EXCLUDED.fees_centicents, total_centicents = EXCLUDED.total_centicents,
               maintenance_margin_centicents = EXCLUDED.maintenance_margin_centicents,
               maintenance_margin_delta_centicents = EXCLUDED.maintenance_margin_delta_centicents,
               funding_centicents = EXCLUDED.funding_centicents, funding_payment_count = EXCLUDED.funding_payment_count
             RETURNING 1)
      SELECT ((SELECT count(*) FROM gone) + (SELECT count(*) FROM written))::int $$`);
    // The figures of what is held now, Klear's writers held off meanwhile.
    await q.query(`LOCK TABLE klear_obligation, klear_settlement_detail, klear_margin_detail, klear_funding_payment IN SHARE MODE`);
    await q.query(`SELECT klear_subtrader_latest_figures_refresh()`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION klear_subtrader_latest_figures_refresh()`);
    await q.query(`DROP FUNCTION klear_subtrader_latest_figures_recomputed()`);
    await q.query(`DROP TABLE "klear_subtrader_latest_figures"`);
  }
}
