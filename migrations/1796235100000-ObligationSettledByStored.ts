import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 18: every row of a GET /obligations page computed the buffer movement that settled it (a
 * correlated subquery over the balance history, the receives and the versions) and counted its versions:
 * 0.49 ms of the page's 0.81 ms in PostgreSQL for a page of 30 obligations (PostgreSQL 15, the quick
 * growth world at day 30), each row's subquery costed with hash joins over the whole balance history,
 * which grows with every buffer movement. The route missed its p99 target at day 30 of the growth world
 * (3.62x GET /health/live for 3x). An obligation now keeps both: `version_count` and `settled_by`, and a
 * page reads them as columns.
 *
 * What is kept is what the page computed, by the same SQL, now `klear_obligation_settled_by(id)` (its
 * rule in docs/klear-api.md, "Obligations: due and paid"). It is kept current by the database, whoever
 * writes: a row trigger on each table it reads refreshes the obligations the written row can change.
 *
 * | written                        | obligations refreshed                                                      |
 * |--------------------------------|----------------------------------------------------------------------------|
 * | klear_balance_history          | a settlement entry: per asset class, the one whose cycle window holds its time; any entry: those whose receive names it |
 * | klear_receive                  | its obligation; when it names a settlement entry, those whose window holds that entry |
 * | klear_obligation_version       | its obligation (its count, the amounts it matches)                         |
 * | klear_obligation (new, gone, or its id, execution_time, amount or asset class changed) | itself; the one before it in its asset class (whose window it ends) |
 * | TRUNCATE of any of the three   | every obligation                                                           |
 *
 * Concurrent writers: every refresh first takes the obligation writers' transaction lock (the one
 * upsertObligation takes, AdvisoryLocks.obligationWrites), then chooses the obligations and computes them,
 * each in a statement of its own: under READ COMMITTED a statement after the lock sees what every
 * earlier holder committed, and no later holder can commit a change under it. Two writers whose rows
 * meet (a balance entry and the receive that names it, each in its own transaction) therefore refresh
 * one after the other, the second seeing the first's row (test/ingestion/obligation-settled-by-stored.test.ts
 * attacks each pair). A snapshot taken before the lock would not see it: a write in a REPEATABLE READ or
 * SERIALIZABLE transaction is refused (ingestion writes in READ COMMITTED; the snapshot readers, the
 * workbook and reconciliation, write none of these tables). A writer that locks an obligation's row before
 * taking the lock can deadlock with a holder refreshing it: upsertObligation and the archive rebuild's
 * TRUNCATE take the lock first.
 */
const SEARCH_PATH = 'SET search_path = public, pg_temp';
const OBLIGATION_WRITES_LOCK = `pg_advisory_xact_lock(hashtext('klear-obligation-writes'))`;
/** The balance entries a cycle's window offers as its payment (the receive a receipt names may be any entry). */
const SETTLEMENT_REASONS = `'settlement_payment', 'settlement_receipt'`;

/**
 * The balance-history entry that settled obligation `target` (docs/klear-api.md, "Obligations: due and
 * paid"), in this order: the one its receive names (Klear's own link, receipts); a settlement entry
 * (reason settlement_payment or settlement_receipt) of its cycle's window (from its execution time to the
 * next cycle of its asset class) whose delta is its amount or the amount of one of its versions; the
 * window's only settlement entry in its direction (a later fee change alters the amount, not the payment
 * already made). Entries another obligation's receive names never count. `created_ts` is UTC with
 * microseconds, whatever the writer's time zone.
 */
const SETTLED_BY = `CREATE FUNCTION klear_obligation_settled_by(target text) RETURNS jsonb LANGUAGE sql STABLE ${SEARCH_PATH} AS $fn$
  SELECT (
    WITH candidates AS (
      SELECT h.id, h.balance_delta_centicents AS delta, h.created_ts
        FROM klear_balance_history h
       WHERE h.reason IN (${SETTLEMENT_REASONS}) AND h.created_ts >= o.execution_time
         AND h.created_ts < coalesce((SELECT min(n.execution_time) FROM klear_obligation n
                                       WHERE n.asset_class = o.asset_class AND n.execution_time > o.execution_time), 'infinity')
         AND NOT EXISTS (SELECT 1 FROM klear_receive r WHERE r.external_reference = h.business_transaction_id AND r.obligation_id <> o.id))
    SELECT jsonb_build_object('business_transaction_id', h.business_transaction_id,
                              'created_ts', to_char(h.created_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                              'balance_delta_centicents', h.balance_delta_centicents::text, 'reason', h.reason, 'matched_by', m.matched_by)
      FROM (SELECT h.id, 'receive_reference' AS matched_by, 0 AS rank
              FROM klear_receive r JOIN klear_balance_history h ON h.business_transaction_id = r.external_reference
             WHERE r.obligation_id = o.id
            UNION ALL
            SELECT c.id, 'amount', 1 FROM candidates c
             WHERE c.delta = o.amount_centicents OR c.delta IN (SELECT v.amount_centicents FROM klear_obligation_version v WHERE v.obligation_id = o.id)
            UNION ALL
            SELECT min(c.id), 'only_settlement_of_its_cycle', 2 FROM candidates c
             WHERE sign(c.delta::numeric) = sign(o.amount_centicents::numeric) AND o.amount_centicents <> 0
            HAVING count(*) = 1) m
      JOIN klear_balance_history h ON h.id = m.id
     ORDER BY m.rank, h.created_ts, h.id LIMIT 1)
    FROM klear_obligation o WHERE o.id = target
$fn$`;

/**
 * Per asset class, the obligations whose cycle window holds `at` (the latest execution time at or before
 * it): one read of the asset classes, then one descent of (asset_class, execution_time) each.
 */
const WINDOW_OWNERS = `CREATE FUNCTION klear_obligation_window_owners(at timestamptz) RETURNS SETOF text LANGUAGE sql STABLE ${SEARCH_PATH} AS $fn$
  SELECT o.id FROM (SELECT DISTINCT asset_class FROM klear_obligation) c
    CROSS JOIN LATERAL (SELECT max(n.execution_time) AS latest FROM klear_obligation n WHERE n.asset_class = c.asset_class AND n.execution_time <= at) w
    JOIN klear_obligation o ON o.asset_class = c.asset_class AND o.execution_time = w.latest
$fn$`;

/** Per asset class `class`, the obligations whose window an obligation executing at `at` ends (the latest before it). */
const WINDOW_BEFORE = `CREATE FUNCTION klear_obligation_window_before(class text, at timestamptz) RETURNS SETOF text LANGUAGE sql STABLE ${SEARCH_PATH} AS $fn$
  SELECT o.id FROM klear_obligation o
   WHERE o.asset_class = class
     AND o.execution_time = (SELECT max(n.execution_time) FROM klear_obligation n WHERE n.asset_class = class AND n.execution_time < at)
$fn$`;

/** Makes the kept columns of obligations `ids` equal to what their sources say (rows already equal are not written). */
const REFRESH = `CREATE FUNCTION klear_obligation_derived_refresh(ids text[]) RETURNS void LANGUAGE plpgsql ${SEARCH_PATH} AS $fn$
  BEGIN
    UPDATE klear_obligation o SET version_count = d.version_count, settled_by = d.settled_by
      FROM (SELECT x.id, (SELECT count(*)::int FROM klear_obligation_version v WHERE v.obligation_id = x.id) AS version_count,
                   klear_obligation_settled_by(x.id) AS settled_by
              FROM klear_obligation x WHERE x.id = ANY(ids)) d
     WHERE o.id = d.id AND (o.version_count, o.settled_by) IS DISTINCT FROM (d.version_count, d.settled_by);
  END $fn$`;

/**
 * A trigger function: the lock first, then (each its own statement, a snapshot taken after the lock) the
 * obligations a written row can change (`ofRow`, in terms of NEW and OLD; every obligation after a
 * TRUNCATE) and their refresh.
 */
const refreshTrigger = (name: string, ofRow: string) => `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql ${SEARCH_PATH} AS $fn$
  DECLARE ids text[];
  BEGIN
    PERFORM ${OBLIGATION_WRITES_LOCK};
    IF current_setting('transaction_isolation') <> 'read committed' THEN
      RAISE EXCEPTION '% is written in READ COMMITTED transactions (this one is %): the obligations it settles are refreshed from a snapshot taken after the obligation writers'' lock',
        TG_TABLE_NAME, current_setting('transaction_isolation') USING ERRCODE = 'invalid_transaction_state';
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
      ids := ARRAY(SELECT id FROM klear_obligation);
    ELSE
      ids := ARRAY(${ofRow});
    END IF;
    PERFORM klear_obligation_derived_refresh(ids);
    RETURN NULL;
  END $fn$`;

const TRIGGER_FUNCTIONS = [
  refreshTrigger(
    'klear_balance_history_refresh_settled_by',
    `SELECT klear_obligation_window_owners(e.created_ts) FROM (SELECT NEW.created_ts, NEW.reason UNION SELECT OLD.created_ts, OLD.reason) e(created_ts, reason)
             WHERE e.reason IN (${SETTLEMENT_REASONS})
     UNION SELECT r.obligation_id FROM klear_receive r WHERE r.external_reference IN (NEW.business_transaction_id, OLD.business_transaction_id)`,
  ),
  refreshTrigger(
    'klear_receive_refresh_settled_by',
    `SELECT NEW.obligation_id UNION SELECT OLD.obligation_id
     UNION SELECT klear_obligation_window_owners(h.created_ts) FROM klear_balance_history h
            WHERE h.business_transaction_id IN (NEW.external_reference, OLD.external_reference) AND h.reason IN (${SETTLEMENT_REASONS})`,
  ),
  refreshTrigger('klear_obligation_version_refresh_settled_by', `SELECT NEW.obligation_id UNION SELECT OLD.obligation_id`),
  // A TRUNCATE of klear_obligation leaves no obligation to refresh: no trigger for it.
  refreshTrigger(
    'klear_obligation_refresh_settled_by',
    `SELECT NEW.id
     UNION SELECT klear_obligation_window_before(NEW.asset_class, NEW.execution_time) WHERE NEW.id IS NOT NULL
     UNION SELECT klear_obligation_window_before(OLD.asset_class, OLD.execution_time) WHERE OLD.id IS NOT NULL`,
  ),
];

const TRIGGERS = [
  `CREATE TRIGGER klear_balance_history_refresh_settled_by AFTER INSERT OR UPDATE OR DELETE ON klear_balance_history
     FOR EACH ROW EXECUTE FUNCTION klear_balance_history_refresh_settled_by()`,
  `CREATE TRIGGER klear_balance_history_truncate_settled_by AFTER TRUNCATE ON klear_balance_history
     FOR EACH STATEMENT EXECUTE FUNCTION klear_balance_history_refresh_settled_by()`,
  `CREATE TRIGGER klear_receive_refresh_settled_by AFTER INSERT OR UPDATE OR DELETE ON klear_receive
     FOR EACH ROW EXECUTE FUNCTION klear_receive_refresh_settled_by()`,
  `CREATE TRIGGER klear_receive_truncate_settled_by AFTER TRUNCATE ON klear_receive
     FOR EACH STATEMENT EXECUTE FUNCTION klear_receive_refresh_settled_by()`,
  `CREATE TRIGGER klear_obligation_version_refresh_settled_by AFTER INSERT OR UPDATE OR DELETE ON klear_obligation_version
     FOR EACH ROW EXECUTE FUNCTION klear_obligation_version_refresh_settled_by()`,
  `CREATE TRIGGER klear_obligation_version_truncate_settled_by AFTER TRUNCATE ON klear_obligation_version
     FOR EACH STATEMENT EXECUTE FUNCTION klear_obligation_version_refresh_settled_by()`,
  // Not on its own refresh's columns: the refresh does not fire it again.
  `CREATE TRIGGER klear_obligation_refresh_settled_by AFTER INSERT OR DELETE OR UPDATE OF id, execution_time, amount_centicents, asset_class
     ON klear_obligation FOR EACH ROW EXECUTE FUNCTION klear_obligation_refresh_settled_by()`,
];

export class ObligationSettledByStored1796235100000 implements MigrationInterface {
  name = 'ObligationSettledByStored1796235100000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "klear_obligation" ADD "version_count" integer NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE "klear_obligation" ADD "settled_by" jsonb`);
    for (const sql of [SETTLED_BY, WINDOW_OWNERS, WINDOW_BEFORE, REFRESH, ...TRIGGER_FUNCTIONS]) await q.query(sql);
    // The triggers before the backfill (each waits for the table's writers in flight, and a writer after
    // it fires them), then the lock: the backfill sees every row written before it, and none is written beside it.
    for (const sql of TRIGGERS) await q.query(sql);
    await q.query(`SELECT ${OBLIGATION_WRITES_LOCK}`);
    await q.query(`SELECT klear_obligation_derived_refresh(ARRAY(SELECT id FROM klear_obligation))`);
  }

  public async down(q: QueryRunner): Promise<void> {
    for (const [trigger, table] of [
      ['klear_balance_history_refresh_settled_by', 'klear_balance_history'],
      ['klear_balance_history_truncate_settled_by', 'klear_balance_history'],
      ['klear_receive_refresh_settled_by', 'klear_receive'],
      ['klear_receive_truncate_settled_by', 'klear_receive'],
      ['klear_obligation_version_refresh_settled_by', 'klear_obligation_version'],
      ['klear_obligation_version_truncate_settled_by', 'klear_obligation_version'],
      ['klear_obligation_refresh_settled_by', 'klear_obligation'],
    ])
      await q.query(`DROP TRIGGER "${trigger}" ON "${table}"`);
    for (const fn of [
      'klear_balance_history_refresh_settled_by()',
      'klear_receive_refresh_settled_by()',
      'klear_obligation_version_refresh_settled_by()',
      'klear_obligation_refresh_settled_by()',
      'klear_obligation_derived_refresh(text[])',
      'klear_obligation_window_before(text, timestamptz)',
      'klear_obligation_window_owners(timestamptz)',
      'klear_obligation_settled_by(text)',
    ])
      await q.query(`DROP FUNCTION ${fn}`);
    await q.query(`ALTER TABLE "klear_obligation" DROP COLUMN "settled_by"`);
    await q.query(`ALTER TABLE "klear_obligation" DROP COLUMN "version_count"`);
  }
}
