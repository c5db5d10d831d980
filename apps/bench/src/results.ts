import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, platform, release, totalmem, arch, loadavg } from 'node:os';
import { dirname } from 'node:path';

/** `growth` / `growth-quick`: `npm run bench -- --growth [--quick]` (30 cycles of history, apps/bench/src/growth-bench.ts). */
export type BenchMode = 'full' | 'quick' | 'growth' | 'growth-quick';

export interface MachineFacts {
  os: string;
  cpu_model: string;
  cpus: number;
  node: string;
  total_memory_mb: number;
  /** The machine's load average (1, 5, 15 min) when the run started: figures on a loaded machine read accordingly. */
  load_average?: number[];
}

/** One line of bench/results.json. `ratio` is figure/floor oriented so that higher is worse. */
export interface BenchRow {
  name: string;
  status: 'measured' | 'skipped';
  value: number | null;
  unit: string;
  floor: number | null;
  ratio: number | null;
  /** What `pass` checks, e.g. "ratio <= 3" or "value < 50". */
  target: string;
  pass: boolean | null;
  reason?: string;
  machine: MachineFacts;
  date: string;
  mode: BenchMode;
}

/** A measurement before the run's shared facts (machine, date, mode) are attached. */
export interface Measurement {
  name: string;
  value: number;
  unit: string;
  floor: number | null;
  ratio: number | null;
  /** null: a figure reported without a target (e.g. the database's size on disk); its row's pass is null. */
  target: { on: 'ratio' | 'value'; op: '<=' | '<' | '>=' | '>'; limit: number } | null;
}

export interface Skip {
  name: string;
  unit: string;
  target: string;
  reason: string;
}

export function machineFacts(): MachineFacts {
  const list = cpus();
  return {
    os: `${platform()} ${release()} ${arch()}`,
    cpu_model: list[0]?.model ?? 'unknown',
    cpus: list.length,
    node: process.version,
    total_memory_mb: Math.round(totalmem() / 1_048_576),
    load_average: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

const round = (n: number | null): number | null => (n === null ? null : Math.round(n * 1000) / 1000);

export function measuredRow(m: Measurement, shared: Pick<BenchRow, 'machine' | 'date' | 'mode'>): BenchRow {
  const row = (target: string, pass: boolean | null): BenchRow => ({
    name: m.name,
    status: 'measured',
    value: round(m.value),
    unit: m.unit,
    floor: round(m.floor),
    ratio: round(m.ratio),
    target,
    pass,
    ...shared,
  });
  if (m.target === null) return row('reported', null);
  const subject = m.target.on === 'ratio' ? m.ratio : m.value;
  const { op, limit } = m.target;
  const pass =
    subject === null || !Number.isFinite(subject)
      ? false
      : op === '<='
        ? subject <= limit
        : op === '<'
          ? subject < limit
          : op === '>='
            ? subject >= limit
            : subject > limit;
  return row(`${m.target.on} ${op} ${limit}`, pass);
}

export function skippedRow(s: Skip, shared: Pick<BenchRow, 'machine' | 'date' | 'mode'>): BenchRow {
  return {
    name: s.name,
    status: 'skipped',
    value: null,
    unit: s.unit,
    floor: null,
    ratio: null,
    target: s.target,
    pass: null,
    reason: s.reason,
    ...shared,
  };
}

/** The table printed at the end of a run (also pasted into the README's benchmark section). */
export function formatTable(rows: BenchRow[]): string {
  const header = ['benchmark', 'figure', 'floor', 'ratio', 'target', 'result'];
  const fmt = (n: number | null) => (n === null ? '-' : n >= 100 ? n.toFixed(0) : n.toFixed(2));
  const lines = rows.map((r) => [
    r.name,
    r.value === null ? '-' : `${fmt(r.value)} ${r.unit}`,
    r.floor === null ? '-' : `${fmt(r.floor)} ${r.unit}`,
    fmt(r.ratio),
    r.target,
    r.status === 'skipped' ? `skipped: ${r.reason ?? ''}` : r.pass === null ? '-' : r.pass ? 'pass' : 'FAIL',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [row(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(row)].join('\n');
}

/**
 * Writes a run's rows to the results file, keeping the rows of other modes already there: the
 * default run and the growth run (`--growth`) share bench/results.json without erasing each other.
 */
export function writeResults(path: string, rows: BenchRow[]): void {
  const modes = new Set(rows.map((r) => r.mode));
  let kept: BenchRow[] = [];
  if (existsSync(path)) {
    try {
      const previous = JSON.parse(readFileSync(path, 'utf8')) as unknown;
      if (Array.isArray(previous)) kept = (previous as BenchRow[]).filter((r) => !modes.has(r.mode));
    } catch {
      kept = [];
    }
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify([...kept, ...rows], null, 2)}\n`);
}
