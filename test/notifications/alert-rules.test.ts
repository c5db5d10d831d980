import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MetricsService } from '@app/metrics';
import { type ApiWorld, startApiWorld } from '../support/api-world';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RULES = `${ROOT}docker/prometheus/alerts.yml`;
const DASHBOARD = `${ROOT}docker/grafana/dashboards/klear-ops.json`;

/** PromQL words that are not metric names. */
const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'or',
  'and',
  'unless',
  'bool',
  'offset',
  'le',
  'inf',
  'nan',
]);

/** The metric names a PromQL expression reads: identifiers outside strings, label matchers, groupings and function calls. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g)) {
    if (m[2] || PROMQL_WORDS.has(m[1].toLowerCase()) || /^\d/.test(m[1])) continue;
    names.add(m[1]);
  }
  return [...names];
}

function ruleExpressions(): Array<{ alert: string; expr: string }> {
  const out: Array<{ alert: string; expr: string }> = [];
  let alert = '';
  for (const line of readFileSync(RULES, 'utf8').split('\n')) {
    const a = /^\s*- alert:\s*(\S+)/.exec(line);
    if (a) alert = a[1];
    const e = /^\s*expr:\s*(.+)$/.exec(line);
    if (e) out.push({ alert, expr: e[1].trim() });
  }
  return out;
}

/**
 * The alert rules and the dashboard name only metrics the product exposes (a renamed metric
 * would leave an alert that can never fire), and promtool accepts the rules where it is installed.
 */
describe('docker/ alert rules and dashboard', () => {
  let api: ApiWorld;
  let exposed: Set<string>;

  beforeAll(async () => {
    api = await startApiWorld();
    const text = await api.app.get(MetricsService, { strict: false }).text();
    exposed = new Set<string>(['up']); // made by Prometheus for every target
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      exposed.add(m[1]);
      if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exposed.add(`${m[1]}${s}`);
    }
  });

  afterAll(async () => {
    await api?.close();
  });

  it('the extraction finds the names of a known expression', () => {
    expect(
      metricNames(
        'sum(rate(klear_api_rate_limited_total[10m])) / clamp_min(sum by (endpoint) (rate(klear_api_requests_total{status="429"}[10m])), 0.001) > 0.05',
      ).sort(),
    ).toEqual(['klear_api_rate_limited_total', 'klear_api_requests_total']);
    expect(metricNames('klear_job_last_success_age_seconds > on (job) group_left klear_job_stale_after_seconds')).toEqual([
      'klear_job_last_success_age_seconds',
      'klear_job_stale_after_seconds',
    ]);
  });

  it('covers the conditions of the issue and names only metrics /metrics exposes', () => {
    const rules = ruleExpressions();
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'KlearJobStale',
        'KlearWithdrawalWaitingForApproval',
        'KlearWithdrawalOutcomeUnknown',
        'KlearAuditChainFailed',
        'KlearRateLimited',
      ]),
    );
    const missing = rules.flatMap((r) =>
      metricNames(r.expr)
        .filter((n) => !exposed.has(n))
        .map((n) => `${r.alert}: ${n}`),
    );
    expect(missing).toEqual([]);
    expect(rules.every((r) => metricNames(r.expr).length > 0)).toBe(true);
  });

  it('the Grafana dashboard names only exposed metrics', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(10);
    const missing = dashboard.panels.flatMap((p) =>
      p.targets.flatMap((t) =>
        metricNames(t.expr)
          .filter((n) => !exposed.has(n))
          .map((n) => `${p.title}: ${n}`),
      ),
    );
    expect(missing).toEqual([]);
  });

  const promtool = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
  (promtool ? it : it.skip)('promtool check rules accepts the rules (Debian package prometheus)', () => {
    const out = execFileSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
  });
});
