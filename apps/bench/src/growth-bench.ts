import { benchKeyring } from './bench-key';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditService } from '@app/audit';
import { systemClock } from '@app/clock';
import { ensureCyclePartitions, ensureCyclePartitionsAhead } from '@app/db';
import { settlementDateOf, settlementDay, WorkbookBuilder, WorkbookReadRepository } from '@app/exports';
import type { KlearClient } from '@app/klear-client';
import { ReconciliationRunRepository, type ReconSettings } from '@app/reconciliation';
import type { DataSource, EntityManager } from 'typeorm';
import { startKlearSimulator } from '@apps/klear-sim';
import { benchApiLatency } from './api-bench';
import { simulatorClient } from './bench-database';
import { countingBuffers, quietAutovacuum, statementBuffers, statementLines } from './database-counters';
import { openBenchDatabase } from './bench-database';
import { fetchWhole, ingestFetched, plainCopy } from './ingestion-bench';
import { refreshLatestFigures } from '@app/ingestion';
import { type BenchMode, type BenchRow, machineFacts, type Measurement, measuredRow, writeResults } from './results';

/**
 * `npm run bench -- --growth [--quick]`: the cost of a day as history accumulates (issue 18).
 *
 * Builds 30 settled cycles of the world (10,000 subtraders x 100 markets in full, 100 x 100 quick)
 * and measures days 1, 10 and 30 through the product's own paths: that day's cycle fetched from the
 * simulator and ingested (archive + interpretation, vs a plain COPY of its rows), its ledger side
 * booked, its reconciliation run, p99 of the main read routes (vs GET /health/live, same run), the
 * day's workbook, and the database's size on disk. The other 27 cycles are history, loaded
 * set-based in SQL from the last measured cycle (details, obligation and its version,
 * the archived answer bodies, the ledger; margin rows the simulator's own of that cycle), each then reconciled by the real run: the database a
 * member holds after 30 days, without paying 27 more timed ingestions to build it.
 */

export const GROWTH_CYCLES = 30;
export const MEASURED_DAYS = [1, 10, 30] as const;
/** The growth target of issue 18: every day-30 figure within 1.2x of day 1. */
export const GROWTH_RATIO_TARGET = 1.2;
/** Statements of each measured phase logged with their buffers (where the embedded server records them). */
const HEAVIEST_STATEMENTS = 6;
/** Subtraders with one market's PnL off by a centicent in the ledger (as in the default bench): 1 in 200. */
const BROKEN_EVERY = 200;

export interface GrowthPlan {
  subtraders: number;
  markets: number;
  api: { connections: number; durationSeconds: number; rounds: number };
}

export function growthPlan(quick: boolean): GrowthPlan {
  return quick
    ? { subtraders: 100, markets: 100, api: { connections: 10, durationSeconds: 1, rounds: 1 } }
    : { subtraders: 10_000, markets: 100, api: { connections: 10, durationSeconds: 5, rounds: 3 } };
}

export interface GrowthOptions {
  quick: boolean;
  output?: string;
  databaseUrl?: string;
  log?: (line: string) => void;
}

/** What one measured day yields (times in seconds, sizes in bytes). */
export interface DayFigures {
  day: number;
  cycle: string;
  rows: number;
  ingestRowsPerSecond: number;
  copyRowsPerSecond: number;
  reconciliationSeconds: number;
  reconciliationBreaks: number;
  /** p99 (ms) of each main read route, and (`apiFloorP99`) of GET /health/live measured just before it. */
  apiP99: Record<string, number>;
  apiFloorP99: Record<string, number>;
  /**
   * Shared buffers each main read route touches per row it reads, on its default page (the rows and the
   * next-page probe; pg_stat_statements; empty where the server does not record statements): the
   * load-independent figure of the route's cost.
   */
  apiBuffers: Record<string, number>;
  /** The median of the routes' floors (the log's and the summary's figure). */
  healthP99: number;
  workbookSeconds: number;
  workbookDetailRows: number;
  /**
   * Shared buffers (hit + read, `pg_stat_database`) each phase touched in the bench database: the
   * load-independent figure of the day's cost (apps/bench/src/database-counters.ts).
   */
  buffers: { ingestion: number; reconciliation: number; workbook: number };
  databaseBytes: number;
  /** Size on disk (heap, TOAST and indexes) of each table over 1 MB, by table name (a partitioned table: its partitions summed). */
  tableBytes: Record<string, number>;
}

interface Listed {
  id: string;
  executionTime: Date;
  /** The cursor that answers this obligation first with limit 1 (undefined: the newest). */
  cursor: string | undefined;
}

export async function runGrowthBench(options: GrowthOptions): Promise<{ rows: BenchRow[]; days: DayFigures[] }> {
  const plan = growthPlan(options.quick);
  const mode: BenchMode = options.quick ? 'growth-quick' : 'growth';
  const log = options.log ?? (() => undefined);
  const shared = { machine: machineFacts(), date: systemClock.now().toISOString(), mode };
  const perCycle = plan.subtraders * plan.markets;
  log(
    `bench (${mode}): ${GROWTH_CYCLES} cycles of ${plan.subtraders} subtraders x ${plan.markets} markets = ${perCycle} detail rows each; measured days ${MEASURED_DAYS.join(', ')}`,
  );
  const database = await openBenchDatabase(options.databaseUrl);
  log(`database: ${database.origin}`);
  const sim = await startKlearSimulator({
    port: 0,
    rateLimit: false,
    seed: 18,
    subtraders: plan.subtraders,
    markets: plan.markets,
    days: GROWTH_CYCLES,
    withdrawalFailureRate: 0,
  });
  const days: DayFigures[] = [];
  try {
    const client = simulatorClient(sim);
    const cycles = await listCycles(client);
    if (cycles.length < GROWTH_CYCLES) throw new Error(`the simulator lists ${cycles.length} settled obligations, ${GROWTH_CYCLES} needed`);
    const world = new GrowthWorld(database.dataSource);
    let template: { obligationId: string; executionTime: Date; archive: [string, string] } | undefined;
    const started = performance.now();
    for (let day = 1; day <= GROWTH_CYCLES; day++) {
      const cycle = cycles[day - 1];
      if ((MEASURED_DAYS as readonly number[]).includes(day)) {
        log(
          `day ${day} (${cycle.executionTime.toISOString()}): measured, ${((performance.now() - started) / 1000).toFixed(0)} s into the run`,
        );
        const figures = await measureDay(day, cycle, client, database, world, plan, log);
        days.push(figures.day);
        template = { obligationId: cycle.id, executionTime: cycle.executionTime, archive: figures.archive };
      } else {
        if (!template) throw new Error('history needs a measured cycle to copy');
        const loadStarted = performance.now();
        const margins = await simulatorMargins(client, cycle.id);
        await world.copyCycle(template, cycle, day, margins);
        const reconcileStarted = performance.now();
        await world.reconcile(cycle.executionTime);
        const seconds = (from: number, to: number) => ((to - from) / 1000).toFixed(1);
        const done = performance.now();
        log(
          `day ${day}: history loaded in ${seconds(loadStarted, reconcileStarted)} s, reconciled in ${seconds(reconcileStarted, done)} s`,
        );
      }
    }
  } finally {
    await sim.close();
    await database.close();
  }
  const rows = growthRows(days, perCycle).map((m) => measuredRow(m, shared));
  if (options.output) writeResults(options.output, rows);
  return { rows, days };
}

/** The obligation history, oldest first, each with the cursor that answers it first. */
async function listCycles(client: KlearClient): Promise<Listed[]> {
  const listed: Listed[] = [];
  let cursor: string | undefined;
  do {
    const answer = await client.getObligationHistory({ limit: 1, cursor });
    for (const o of answer.data.obligations) listed.push({ id: o.id, executionTime: new Date(o.execution_time), cursor });
    cursor = answer.data.cursor ?? undefined;
  } while (cursor);
  return listed.sort((a, b) => a.executionTime.getTime() - b.executionTime.getTime()).slice(0, GROWTH_CYCLES);
}

async function measureDay(
  day: number,
  cycle: Listed,
  client: KlearClient,
  database: { dataSource: DataSource; url: string },
  world: GrowthWorld,
  plan: GrowthPlan,
  log: (line: string) => void,
): Promise<{ day: DayFigures; archive: [string, string] }> {
  const { dataSource, url } = database;
  // The months the day writes have their partitions before it is measured, as days 10 and 30 find theirs
  // (made by the history copies) and as a running deployment does (every archived answer makes this
  // month's and the next's): the cycle's month for its Klear rows and ledger, this month's for the
  // archived answers. Day 1 used to make them inside its timed ingestion, which then ran 3.05x COPY on
  // average against 2.65x with them made first (five runs each, bench/README.md); the floor's table is
  // made outside its timing too.
  await ensureCyclePartitions(dataSource, [cycle.executionTime]);
  await ensureCyclePartitionsAhead(dataSource, systemClock.now());
  // Every table and partition, those just made included: no autovacuum worker counts against a phase.
  await quietAutovacuum(dataSource);
  // In a function of its own: the million parsed rows are garbage before the API is measured in this process.
  const { rows, ingested, copySeconds, buffers: ingestionBuffers, statements } = await ingestDay(day, cycle, client, database);
  log(`  ingestion: ${rows} rows in ${ingested.seconds.toFixed(2)} s (COPY ${copySeconds.toFixed(2)} s), ${ingestionBuffers} buffers`);
  for (const line of statementLines(statements)) log(line);

  await world.bookLedger(cycle.id, cycle.executionTime);
  const {
    result: { breaks, reconciliationSeconds },
    buffers: reconciliationBuffers,
    statements: reconciliationStatements,
  } = await countingBuffers(
    dataSource,
    async () => {
      const reconStarted = performance.now();
      const found = await world.reconcile(cycle.executionTime);
      return { breaks: found, reconciliationSeconds: (performance.now() - reconStarted) / 1000 };
    },
    HEAVIEST_STATEMENTS,
  );
  log(`  reconciliation: ${reconciliationSeconds.toFixed(2)} s, ${breaks} breaks, ${reconciliationBuffers} buffers`);
  for (const line of statementLines(reconciliationStatements)) log(line);

  const {
    rows: latency,
    absent,
    bytes: answerBytes,
    buffers: apiBuffers,
    statements: apiStatements,
  } = await benchApiLatency(url, { ...plan.api, countBuffers: (work) => statementBuffers(dataSource, work) });
  if (absent.length) log(`  routes not answering 200, left out: ${absent.join(', ')}`);
  log(
    `  api answer sizes (bytes): ${Object.entries(answerBytes)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  const apiP99: Record<string, number> = {};
  const apiFloorP99: Record<string, number> = {};
  for (const r of latency) {
    apiP99[routeOf(r.name)] = r.value;
    apiFloorP99[routeOf(r.name)] = r.floor!;
  }
  const floors = Object.values(apiFloorP99).sort((a, b) => a - b);
  const healthP99 = floors.length ? floors[(floors.length - 1) >> 1] : Number.NaN;
  log('  api shared buffers a row read (default page and its next-page probe; 10 requests counted):');
  for (const [route, buffers] of Object.entries(apiBuffers)) {
    log(`    ${route}: ${buffers}`);
    for (const line of statementLines(apiStatements[route]?.slice(0, 3))) log(`  ${line}`);
  }
  log(
    `  api p99 (ms) against /health/live just before: ${Object.entries(apiP99)
      .map(([k, v]) => `${k} ${v} / ${apiFloorP99[k]}`)
      .join(', ')}`,
  );

  const {
    result: workbook,
    buffers: workbookBuffers,
    statements: workbookStatements,
  } = await countingBuffers(dataSource, () => buildWorkbook(dataSource, cycle.executionTime), HEAVIEST_STATEMENTS);
  log(`  workbook: ${workbook.seconds.toFixed(2)} s, ${workbook.detailRows} detail rows, ${workbookBuffers} buffers`);
  for (const line of statementLines(workbookStatements)) log(line);
  const [{ bytes }] = (await dataSource.query(`SELECT pg_database_size(current_database())::text AS bytes`)) as Array<{ bytes: string }>;
  const tables = (await dataSource.query(
    `SELECT coalesce(pg_partition_root(c.oid), c.oid)::regclass::text AS name, sum(pg_total_relation_size(c.oid))::text AS bytes
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relkind = 'r'
      GROUP BY 1 HAVING sum(pg_total_relation_size(c.oid)) > 1048576 ORDER BY sum(pg_total_relation_size(c.oid)) DESC`,
  )) as Array<{ name: string; bytes: string }>;
  const tableBytes = Object.fromEntries(tables.map((t) => [t.name, Number(t.bytes)]));
  log(
    `  database: ${(Number(bytes) / 1_048_576).toFixed(0)} MB (${tables.map((t) => `${t.name} ${(Number(t.bytes) / 1_048_576).toFixed(0)} MB`).join(', ')})`,
  );
  return {
    day: {
      day,
      cycle: cycle.executionTime.toISOString(),
      rows,
      ingestRowsPerSecond: rows / ingested.seconds,
      copyRowsPerSecond: rows / copySeconds,
      reconciliationSeconds,
      reconciliationBreaks: breaks,
      apiP99,
      apiFloorP99,
      apiBuffers,
      healthP99,
      workbookSeconds: workbook.seconds,
      workbookDetailRows: workbook.detailRows,
      buffers: { ingestion: ingestionBuffers, reconciliation: reconciliationBuffers, workbook: workbookBuffers },
      databaseBytes: Number(bytes),
      tableBytes,
    },
    archive: [ingested.firstArchiveId, ingested.lastArchiveId],
  };
}

/** The day's obligation fetched whole (not timed), then ingested and copied (timed). */
async function ingestDay(day: number, cycle: Listed, client: KlearClient, database: { dataSource: DataSource; url: string }) {
  const fetched = await fetchWhole(client, cycle.cursor);
  if (fetched.entry.id !== cycle.id) throw new Error(`cursor answered ${fetched.entry.id}, expected ${cycle.id}`);
  if (day === 1) await plainCopy(database.url, fetched.entry); // warms the connection and COPY path before the first figure
  const {
    result: ingested,
    buffers,
    statements,
  } = await countingBuffers(database.dataSource, () => ingestFetched(database.dataSource, fetched), HEAVIEST_STATEMENTS);
  const copySeconds = await plainCopy(database.url, fetched.entry);
  return { rows: fetched.entry.settlement_details.length, ingested, copySeconds, buffers, statements };
}

/** Klear's margin rows of a cycle as the simulator states them (one per subtrader or group): history's margins. */
async function simulatorMargins(client: KlearClient, obligationId: string): Promise<MarginRows> {
  const rows: MarginRows = { id: [], subtraderId: [], requirement: [], delta: [], groupId: [] };
  for await (const page of client.walkObligationDetails(obligationId, 'maintenance_margin_details')) {
    for (const m of page.data.maintenance_margin_details ?? []) {
      rows.id.push(m.id);
      rows.subtraderId.push(m.subtrader_id);
      rows.requirement.push(m.maintenance_margin_centicents.toString());
      rows.delta.push(m.maintenance_margin_delta_centicents.toString());
      rows.groupId.push(m.margin_group_id ?? null);
    }
  }
  return rows;
}

/** Margin rows column by column (money as decimal strings), as unnest() takes them. */
interface MarginRows {
  id: string[];
  subtraderId: string[];
  requirement: string[];
  delta: string[];
  groupId: Array<string | null>;
}

/** "api p99: GET /subtraders (10 conn)" -> "GET /subtraders". */
function routeOf(name: string): string {
  return name.replace(/^api p99: /, '').replace(/ \(\d+ conn\)$/, '');
}

/** The day's workbook through the product's builder (every sheet), into a temporary file. */
async function buildWorkbook(dataSource: DataSource, cycle: Date): Promise<{ seconds: number; detailRows: number }> {
  const builder = new WorkbookBuilder(new WorkbookReadRepository(dataSource));
  const filePath = join(tmpdir(), `klear-growth-workbook-${process.pid}.xlsx`);
  try {
    const started = performance.now();
    const built = await builder.build({
      day: settlementDay(settlementDateOf(cycle)),
      filePath,
      madeBy: 'bench',
      madeAt: systemClock.now(),
    });
    return { seconds: (performance.now() - started) / 1000, detailRows: built.rowCounts['Settlement details'] ?? 0 };
  } finally {
    rmSync(filePath, { force: true });
  }
}

/** The growth figures: each day's absolute figures, then each against day 1 (ratio oriented: higher is worse). */
export function growthRows(days: DayFigures[], perCycle: number): Measurement[] {
  const first = days.find((d) => d.day === 1);
  if (!first) throw new Error('no day-1 figures');
  const out: Measurement[] = [];
  const growth = { on: 'ratio', op: '<=', limit: GROWTH_RATIO_TARGET } as const;
  for (const d of days) {
    const at = `growth day ${d.day}`;
    out.push({
      name: `${at}: ingestion of the day's cycle (${d.rows} rows) vs plain COPY`,
      value: d.ingestRowsPerSecond,
      unit: 'rows/s',
      floor: d.copyRowsPerSecond,
      ratio: d.copyRowsPerSecond / d.ingestRowsPerSecond,
      target: { on: 'ratio', op: '<=', limit: 3 },
    });
    for (const [route, p99] of Object.entries(d.apiP99)) {
      out.push({
        name: `${at}: api p99 ${route} vs GET /health/live (10 conn)`,
        value: p99,
        unit: 'ms',
        floor: d.apiFloorP99[route],
        ratio: p99 / Math.max(d.apiFloorP99[route], 1),
        target: { on: 'ratio', op: '<=', limit: 3 },
      });
    }
    out.push({
      name: `${at}: database size on disk`,
      value: d.databaseBytes / 1_048_576,
      unit: 'MB',
      floor: null,
      ratio: null,
      target: null,
    });
    for (const [route, buffers] of Object.entries(d.apiBuffers)) {
      out.push({
        name: `${at}: api ${route}, shared buffers a row read (default page)`,
        value: buffers,
        unit: 'buffers',
        floor: null,
        ratio: null,
        target: null,
      });
    }
    for (const [phase, buffers] of Object.entries(d.buffers)) {
      out.push({
        name: `${at}: shared buffers touched, ${phase}`,
        value: buffers,
        unit: 'buffers',
        floor: null,
        ratio: null,
        target: null,
      });
    }
    if (d.day === 1) {
      out.push({
        name: `${at}: reconciliation run (${d.reconciliationBreaks} breaks)`,
        value: d.reconciliationSeconds,
        unit: 's',
        floor: null,
        ratio: null,
        target: null,
      });
      out.push({
        name: `${at}: workbook of the day (${d.workbookDetailRows} detail rows)`,
        value: d.workbookSeconds,
        unit: 's',
        floor: null,
        ratio: null,
        target: null,
      });
      continue;
    }
    // The acceptance figure of flat cost: pages read per phase, independent of the machine's load.
    for (const [phase, buffers] of Object.entries(d.buffers) as Array<[keyof DayFigures['buffers'], number]>) {
      out.push({
        name: `${at} vs day 1: shared buffers touched, ${phase}`,
        value: buffers,
        unit: 'buffers',
        floor: first.buffers[phase],
        ratio: buffers / first.buffers[phase],
        target: growth,
      });
    }
    // Wall times beside them, informative: on a shared 2-core machine they swing with its load (README).
    out.push({
      name: `${at} vs day 1: ingestion rows/s`,
      value: d.ingestRowsPerSecond,
      unit: 'rows/s',
      floor: first.ingestRowsPerSecond,
      ratio: first.ingestRowsPerSecond / d.ingestRowsPerSecond,
      target: null,
    });
    out.push({
      name: `${at} vs day 1: reconciliation run (${d.reconciliationBreaks} breaks)`,
      value: d.reconciliationSeconds,
      unit: 's',
      floor: first.reconciliationSeconds,
      ratio: d.reconciliationSeconds / first.reconciliationSeconds,
      target: null,
    });
    // A route's flatness is its buffers per row read on its default page (so a page that fills up as days
    // pass does not count as growth); its p99 against day 1's is wall time, reported beside it.
    for (const [route, buffers] of Object.entries(d.apiBuffers)) {
      const base = first.apiBuffers[route];
      if (base === undefined) continue;
      out.push({
        name: `${at} vs day 1: api ${route}, shared buffers a row read (default page)`,
        value: buffers,
        unit: 'buffers',
        floor: base,
        // Per row read, fractions of a buffer are figures (a page of 51 rows reads 16): no floor of 1 here.
        // A route that read nothing on day 1 (an empty table) and nothing since is flat; something since is not.
        ratio: base > 0 ? buffers / base : buffers > 0 ? Number.MAX_VALUE : 1,
        target: growth,
      });
    }
    for (const [route, p99] of Object.entries(d.apiP99)) {
      const base = first.apiP99[route];
      if (base === undefined) continue;
      out.push({
        name: `${at} vs day 1: api p99 ${route}`,
        value: p99,
        unit: 'ms',
        floor: base,
        ratio: p99 / Math.max(base, 1),
        target: null,
      });
    }
    out.push({
      name: `${at} vs day 1: workbook of the day (${d.workbookDetailRows} detail rows)`,
      value: d.workbookSeconds,
      unit: 's',
      floor: first.workbookSeconds,
      ratio: d.workbookSeconds / first.workbookSeconds,
      target: null,
    });
    out.push({
      name: `${at} vs day 1: database size on disk`,
      value: d.databaseBytes / 1_048_576,
      unit: 'MB',
      floor: first.databaseBytes / 1_048_576,
      ratio: d.databaseBytes / first.databaseBytes,
      target: null,
    });
  }
  const tenth = days.find((d) => d.day === 10);
  const last = days.find((d) => d.day === GROWTH_CYCLES);
  if (tenth && last) {
    // Between day 10 and day 30: 20 whole cycles, free of the fixed cost of an empty database.
    const perCycleMb = (last.databaseBytes - tenth.databaseBytes) / (last.day - tenth.day) / 1_048_576;
    out.push({
      name: `growth: disk per cycle of ${perCycle} detail rows (days 10 to 30)`,
      value: perCycleMb,
      unit: 'MB',
      floor: null,
      ratio: null,
      target: null,
    });
    // Where it goes: each table's growth per cycle over the same 20 cycles (partitions count under their parent's name).
    const grown = Object.entries(last.tableBytes)
      .map(([table, size]) => [table, (size - (tenth.tableBytes[table] ?? 0)) / (last.day - tenth.day) / 1_048_576] as const)
      .filter(([, mb]) => mb >= 0.01 * perCycleMb)
      .sort((a, b) => b[1] - a[1]);
    for (const [table, mb] of grown)
      out.push({ name: `growth: disk per cycle, ${table}`, value: mb, unit: 'MB', floor: null, ratio: null, target: null });
  }
  return out;
}

/**
 * The tables a day's load writes, analysed after each (a history copy, a measured day's ingestion and
 * ledger) and before anything is measured: autovacuum is off on the bench database (database-counters.ts),
 * so the bench stands in for the analyze it would run after a load of this size. Otherwise the measured
 * day's cycle, just ingested, is unknown to the statistics of its month's partition, and a plan that
 * names the cycle takes it for one row (the workbook's detail join then probed 10,000 obligations one
 * by one: 37,087 buffers on day 10 against 6,762 on day 1 in one quick run).
 */
const LOADED_TABLES =
  'klear_settlement_detail, klear_margin_detail, klear_obligation, klear_settlement_summary, journal_posting, journal_entry, ledger_trading_summary';

/** The bench database's settled history: copies of a measured cycle, its ledger, its runs. */
class GrowthWorld {
  private readonly runs: ReconciliationRunRepository;
  private readonly columns = new Map<string, string[]>();
  private readonly settings: ReconSettings = {
    tolerances: { settlementDetails: 0n, maintenanceMargin: 0n, funding: 0n, klearConsistency: 0n, settlementBuffer: 0n, projected: 0n },
    bufferMatchWindowHours: 24,
  };

  constructor(private readonly dataSource: DataSource) {
    this.runs = new ReconciliationRunRepository(dataSource, new AuditService(dataSource, benchKeyring(), systemClock), systemClock);
  }

  /** One reconciliation run of the cycle through the product's repository; answers its break count. */
  async reconcile(cycle: Date): Promise<number> {
    const outcome = await this.runs.run(
      { scope: 'cycle', cycle, actor: 'bench', settings: this.settings },
      () => new Error(`cycle ${cycle.toISOString()} has no inputs`),
    );
    return outcome.breakCount;
  }

  /**
   * Copies the template cycle's Klear side as cycle `target` (Klear's id and execution time from the
   * simulator's listing; PnL shifted by the day number so no two cycles are equal), its archived
   * answers, then books its ledger. One transaction; the summary triggers run as on any insert.
   * Margin rows are the simulator's own for that cycle (`margins`), not the template's: each cycle's
   * margin delta must follow from its requirement and the previous cycle's, or Klear's consistency
   * check finds a false margin_delta break per subtrader every day (100 more breaks from day 2 of the
   * quick world, and a reconciliation that grew with them).
   */
  async copyCycle(
    template: { obligationId: string; executionTime: Date; archive: [string, string] },
    target: Listed,
    day: number,
    margins: MarginRows,
  ): Promise<void> {
    // The cycle's month (and the next, where its copied answers may fall) are partitions before its rows arrive.
    await ensureCyclePartitionsAhead(this.dataSource, target.executionTime);
    await this.dataSource.transaction(async (tx) => {
      const shift = target.executionTime.getTime() - template.executionTime.getTime();
      const archive = await this.copySql(
        tx,
        'klear_response_archive',
        { id: null, received_at: 'received_at + make_interval(secs => $3::double precision / 1000)' },
        'id BETWEEN $1::bigint AND $2::bigint',
      );
      const [{ first }] = (await tx.query(`WITH c AS (${archive} RETURNING id) SELECT min(id)::text AS first FROM c`, [
        template.archive[0],
        template.archive[1],
        shift,
      ])) as Array<{ first: string }>;
      // $1 template obligation, $2 new id, $3 its execution time, $4 its first archived answer, $5 the day (PnL shift).
      const params = [template.obligationId, target.id, target.executionTime, first, day];
      const all = '$2::text IS NOT NULL AND $3::timestamptz IS NOT NULL AND $4::bigint IS NOT NULL AND $5::int IS NOT NULL';
      const cycleColumns = { obligation_id: '$2', execution_time: '$3::timestamptz', cycle: '$3::timestamptz', archive_id: '$4::bigint' };
      const copies: Array<[string, Record<string, string | null>, string]> = [
        [
          'klear_obligation',
          { ...cycleColumns, id: '$2', last_updated_ts: '$3::timestamptz', content_sha256: `content_sha256 || '-' || $5::int` },
          'id = $1',
        ],
        [
          'klear_obligation_version',
          { ...cycleColumns, id: null, last_updated_ts: '$3::timestamptz', content_sha256: `content_sha256 || '-' || $5::int` },
          'obligation_id = $1',
        ],
        [
          'klear_settlement_detail',
          { ...cycleColumns, pnl_centicents: 'pnl_centicents + $5::int', total_centicents: 'total_centicents + $5::int' },
          'obligation_id = $1',
        ],
        ['klear_funding_payment', cycleColumns, 'obligation_id = $1'],
      ];
      for (const [table, overrides, where] of copies)
        await tx.query(await this.copySql(tx, table, overrides, `${where} AND ${all}`), params);
      await tx.query(
        `INSERT INTO klear_margin_detail (obligation_id, id, subtrader_id, maintenance_margin_centicents, maintenance_margin_delta_centicents, margin_group_id, cycle)
         SELECT $1, *, $7::timestamptz FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[])`,
        [target.id, margins.id, margins.subtraderId, margins.requirement, margins.delta, margins.groupId, target.executionTime],
      );
      // Klear's totals follow its shifted details and its own margins (no klear_consistency break):
      // amount = details' totals - margin deltas + funding.
      await tx.query(
        `UPDATE klear_obligation o SET amount_centicents = o.amount_centicents + (s.pnl - o.pnl_centicents) + (t.delta - m.delta),
                pnl_centicents = s.pnl, maintenance_margin_centicents = m.mm
           FROM (SELECT sum(pnl_centicents) AS pnl FROM klear_settlement_summary WHERE obligation_id = $1) s,
                (SELECT coalesce(sum(maintenance_margin_centicents), 0) AS mm, coalesce(sum(maintenance_margin_delta_centicents), 0) AS delta
                   FROM klear_margin_detail WHERE cycle = $3 AND obligation_id = $1) m,
                (SELECT coalesce(sum(maintenance_margin_delta_centicents), 0) AS delta FROM klear_margin_detail WHERE cycle = $4 AND obligation_id = $2) t
          WHERE o.id = $1`,
        [target.id, template.obligationId, target.executionTime, template.executionTime],
      );
      await this.book(tx, target.id, target.executionTime);
      // The latest cycle's subtrader figures, as storing the obligation through ingestion refreshes them.
      await refreshLatestFigures(tx, null);
    });
    await this.dataSource.query(`ANALYZE ${LOADED_TABLES}`);
  }

  /** The ledger side of an ingested cycle (what the member's own books say), booked set-based. */
  async bookLedger(obligationId: string, cycle: Date): Promise<void> {
    await this.dataSource.transaction((tx) => this.book(tx, obligationId, cycle));
    await this.dataSource.query(`ANALYZE ${LOADED_TABLES}`);
  }

  /**
   * One trade_settlement entry per subtrader: a trading_pnl posting per market, a trading_fees one
   * where fees are charged, the klear_settlement leg for the rest; 1 subtrader in 200 has one
   * market's PnL a centicent off (the run's breaks). The per-row balance triggers are switched off
   * for this load only (the entries balance by construction; a per-row check of entries of 200
   * postings costs minutes per cycle at full size); the summary trigger stays on. Klear's margin
   * requirement of each subtrader is booked as it stands (maintenance_margin and its contra).
   */
  private async book(tx: EntityManager, obligationId: string, cycle: Date): Promise<void> {
    await tx.query(`ALTER TABLE journal_posting DISABLE TRIGGER journal_posting_balanced`);
    await tx.query(`ALTER TABLE journal_entry DISABLE TRIGGER journal_entry_balanced`);
    // The cycle's Klear rows were copied in this transaction: no statistics know them yet, so the planner
    // takes the cycle for one row and nests loops over 1,000,000 details x 10,000 entries (a history day
    // went from 30 s to over ten minutes at full size). The joins below are hash joins by nature.
    await tx.query(`SET LOCAL enable_nestloop = off`);
    await tx.query(
      // An entry states its postings (posting_count): a pnl line per detail, a fees line per detail with
      // fees, the settlement leg; as the postings below are written.
      `INSERT INTO journal_entry (external_id, entry_type, effective_at, cycle, subtrader_id, content_hash, created_by, asset_class, posting_count)
       SELECT 'growth/' || o.id || '/' || s.subtrader_id, 'trade_settlement', o.execution_time, o.execution_time, s.subtrader_id, md5(o.id || s.subtrader_id), 'bench', o.asset_class, c.n
         FROM klear_obligation o JOIN klear_settlement_summary s ON s.obligation_id = o.id
         JOIN (SELECT subtrader_id, (count(*) + count(*) FILTER (WHERE fees_centicents <> 0) + 1)::int AS n
                 FROM klear_settlement_detail WHERE obligation_id = $1 GROUP BY subtrader_id) c ON c.subtrader_id = s.subtrader_id
        WHERE o.id = $1`,
      [obligationId],
    );
    await tx.query(
      `WITH d AS (SELECT d.subtrader_id, d.market_ticker, d.fees_centicents AS fees,
                         d.pnl_centicents + CASE WHEN abs(hashtext(d.subtrader_id)) % ${BROKEN_EVERY} = 0 AND n = 1 THEN 1 ELSE 0 END AS pnl, n
                    FROM (SELECT d.*, row_number() OVER (PARTITION BY d.subtrader_id ORDER BY d.market_ticker, d.id) AS n
                            FROM klear_settlement_detail d WHERE d.obligation_id = $1) d),
            e AS (SELECT ledger_seq, subtrader_id, asset_class FROM journal_entry WHERE cycle = $2 AND external_id LIKE 'growth/' || $1 || '/%')
       INSERT INTO journal_posting (entry_seq, line_no, account, market_ticker, amount_centicents, cycle, subtrader_id, asset_class, cycle_key)
       SELECT * FROM (
         SELECT e.ledger_seq, 2 * d.n - 1, 'trading_pnl', d.market_ticker, d.pnl, $2::timestamptz, e.subtrader_id, e.asset_class, $2::timestamptz FROM d JOIN e USING (subtrader_id)
         UNION ALL
         SELECT e.ledger_seq, 2 * d.n, 'trading_fees', d.market_ticker, -d.fees, $2, e.subtrader_id, e.asset_class, $2 FROM d JOIN e USING (subtrader_id) WHERE d.fees <> 0
         UNION ALL
         SELECT e.ledger_seq, 2 * max(d.n) + 1, 'klear_settlement', NULL, -sum(d.pnl - d.fees), $2, e.subtrader_id, e.asset_class, $2 FROM d JOIN e USING (subtrader_id)
          GROUP BY e.ledger_seq, e.subtrader_id, e.asset_class) p
       -- Each entry's postings together, in line order, as the product writes them (LedgerRepository.insertEntries):
       -- not the pnl lines of every entry, then the fees lines, then the settlement legs.
       ORDER BY 1, 2`,
      [obligationId, cycle],
    );
    const requirement = `(SELECT subtrader_id, sum(maintenance_margin_centicents) AS v FROM klear_margin_detail
                           WHERE obligation_id = $1 AND subtrader_id <> '' AND margin_group_id IS NULL GROUP BY subtrader_id HAVING sum(maintenance_margin_centicents) <> 0)`;
    await tx.query(
      `INSERT INTO journal_entry (external_id, entry_type, effective_at, cycle, subtrader_id, content_hash, created_by, asset_class, posting_count)
       SELECT 'growth-mm/' || o.id || '/' || m.subtrader_id, 'margin_requirement', o.execution_time, o.execution_time, m.subtrader_id, md5(o.id || m.subtrader_id), 'bench', o.asset_class, 2
         FROM klear_obligation o, ${requirement} m WHERE o.id = $1`,
      [obligationId],
    );
    await tx.query(
      `INSERT INTO journal_posting (entry_seq, line_no, account, market_ticker, amount_centicents, cycle, subtrader_id, asset_class, cycle_key)
       SELECT e.ledger_seq, x.line, x.account, NULL, x.sign * m.v, $2, e.subtrader_id, e.asset_class, $2
         FROM journal_entry e JOIN ${requirement} m ON m.subtrader_id = e.subtrader_id,
              (VALUES (1, 'maintenance_margin', 1), (2, 'maintenance_margin_contra', -1)) AS x(line, account, sign)
        WHERE e.cycle = $2 AND e.external_id LIKE 'growth-mm/' || $1 || '/%'
        ORDER BY 1, 2`,
      [obligationId, cycle],
    );
    // The checks were off for these rows: the one the pages rely on, each entry's posting_count, is run here.
    const [{ miscounted }] = (await tx.query(
      `SELECT count(*)::int AS miscounted FROM journal_entry e
         LEFT JOIN (SELECT entry_seq, count(*)::int AS n FROM journal_posting WHERE cycle_key = $1 GROUP BY entry_seq) p ON p.entry_seq = e.ledger_seq
        WHERE e.cycle = $1 AND e.posting_count IS DISTINCT FROM p.n`,
      [cycle],
    )) as Array<{ miscounted: number }>;
    if (miscounted > 0)
      throw new Error(`growth history: ${miscounted} entries of ${cycle.toISOString()} state a posting_count their postings do not have`);
    await tx.query(`ALTER TABLE journal_posting ENABLE TRIGGER journal_posting_balanced`);
    await tx.query(`ALTER TABLE journal_entry ENABLE TRIGGER journal_entry_balanced`);
    await tx.query(`SET LOCAL enable_nestloop = on`);
  }

  /**
   * `INSERT INTO table (columns) SELECT ... FROM table WHERE where` copying every column, with the
   * given expressions in place of some (null: the column is left to its default). Columns are read
   * from the catalogue so that a column added by a later migration is copied too.
   */
  private async copySql(tx: EntityManager, table: string, overrides: Record<string, string | null>, where: string): Promise<string> {
    let columns = this.columns.get(table);
    if (!columns) {
      columns = (
        (await tx.query(
          `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER' AND is_identity = 'NO' ORDER BY ordinal_position`,
          [table],
        )) as Array<{ column_name: string }>
      ).map((c) => c.column_name);
      this.columns.set(table, columns);
    }
    const kept = columns.filter((c) => overrides[c] !== null);
    const select = kept.map((c) => (c in overrides ? `${overrides[c]} AS "${c}"` : `"${c}"`));
    return `INSERT INTO ${table} (${kept.map((c) => `"${c}"`).join(', ')}) SELECT ${select.join(', ')} FROM ${table} WHERE ${where}`;
  }
}
