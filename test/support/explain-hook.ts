import pg from 'pg';

/** A node of a JSON plan (`EXPLAIN (FORMAT JSON)`), with the fields the plan tests read. */
export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Loops'?: number;
  'Actual Rows'?: number;
  Plans?: PlanNode[];
}

/** One statement a client sent while recording, and its plan. */
export interface ExplainedStatement {
  /** Its text (a cursor's declaration stripped: the query it reads). */
  sql: string;
  plan: PlanNode;
}

export interface ExplainHook {
  /** Runs `work` and gives, in order, the plans of the statements it sent that the hook explains. */
  record<T>(work: () => Promise<T>): Promise<{ result: T; statements: ExplainedStatement[] }>;
  /** Planner settings (`SET name = value`) applied around each explained statement and its run, while given. */
  setPlanner(settings: Record<string, string> | undefined): void;
  /** Puts pg's `Client.prototype.query` back. */
  restore(): void;
}

/**
 * Explains statements as the product sends them: while `record` runs, every statement any pg client
 * sends (TypeORM's query runners and a repository's own client alike) that `explains` picks is first
 * explained on the same connection (its temporary tables exist there) with the same parameters, then
 * run. With `analyze` the plan says what ran (each explained statement runs twice: use it on reads).
 * Callback-style calls and the hook's own statements are never explained.
 */
export function hookExplain(options: { explains: (sql: string) => boolean; analyze?: boolean }): ExplainHook {
  const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = prototype.query;
  const explain = options.analyze ? 'EXPLAIN (ANALYZE, FORMAT JSON)' : 'EXPLAIN (FORMAT JSON)';
  let recording = false;
  let planner: Record<string, string> | undefined;
  const explained: ExplainedStatement[] = [];
  prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const [first, second] = args;
    const sql = typeof first === 'string' ? first : (first as { text?: string } | undefined)?.text;
    const values = typeof first === 'string' ? second : (first as { values?: unknown[] } | undefined)?.values;
    if (
      !recording ||
      sql === undefined ||
      args.some((a) => typeof a === 'function') ||
      /^\s*(EXPLAIN|ANALYZE|LOCK|SET|RESET|DROP)\b/i.test(sql) ||
      !options.explains(sql)
    )
      return original.apply(this, args);
    const statement = sql.replace(/^\s*DECLARE\s+\w+\s+NO\s+SCROLL\s+CURSOR\s+FOR\s+/i, '');
    const settings = Object.entries(planner ?? {});
    return (async () => {
      for (const [name, value] of settings) await original.call(this, `SET ${name} = ${value}`);
      try {
        const plan = (await original.call(this, `${explain} ${statement}`, values)) as pg.QueryResult<{
          'QUERY PLAN': Array<{ Plan: PlanNode }>;
        }>;
        explained.push({ sql: statement, plan: plan.rows[0]['QUERY PLAN'][0].Plan });
        return await original.apply(this, args);
      } finally {
        for (const [name] of settings) await original.call(this, `RESET ${name}`);
      }
    })();
  };
  return {
    async record(work) {
      explained.length = 0;
      recording = true;
      try {
        return { result: await work(), statements: [...explained] };
      } finally {
        recording = false;
      }
    },
    setPlanner(settings) {
      planner = settings;
    },
    restore() {
      prototype.query = original;
    },
  };
}
