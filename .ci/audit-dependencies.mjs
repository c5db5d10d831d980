#!/usr/bin/env node
// CI: fails when `npm audit` reports a known advisory in the installed dependency tree, and says
// plainly when the registry offers no audit data (then nothing was checked; CI goes on unless
// REQUIRE_DEPENDENCY_AUDIT=true). AUDIT_LEVEL (default low) is the lowest severity that fails.
// README "Dependencies and their risks" explains the risky transitive dependencies.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SEVERITIES = ['info', 'low', 'moderate', 'high', 'critical'];

/** Reads `npm audit --json` output: { outcome: 'clean' | 'advisories' | 'unavailable', message }. */
export function interpretAudit(stdout, level = 'low') {
  let report;
  try {
    report = JSON.parse(stdout);
  } catch {
    return { outcome: 'unavailable', message: 'npm audit printed no JSON report' };
  }
  // A registry without the advisories endpoint (a mirror) answers an HTTP error, not a report.
  if (report.statusCode || report.error || !report.metadata?.vulnerabilities) {
    const why = report.message ?? report.error?.summary ?? report.error?.code ?? 'no audit report';
    return { outcome: 'unavailable', message: `the registry offers no audit data (${String(why).replace(/https?:\/\/\S+/g, '<registry>')})` };
  }
  const counts = report.metadata.vulnerabilities;
  const failing = SEVERITIES.slice(SEVERITIES.indexOf(level)).reduce((n, s) => n + (counts[s] ?? 0), 0);
  const names = Object.values(report.vulnerabilities ?? {})
    .filter((v) => SEVERITIES.indexOf(v.severity) >= SEVERITIES.indexOf(level))
    .map((v) => `${v.name} (${v.severity})`);
  if (failing === 0) return { outcome: 'clean', message: `no known advisory at or above ${level} (${JSON.stringify(counts)})` };
  return { outcome: 'advisories', message: `${failing} known advisory(ies) at or above ${level}: ${names.join(', ')}` };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const level = process.env.AUDIT_LEVEL ?? 'low';
  const run = spawnSync('npm', ['audit', '--json'], { encoding: 'utf8', timeout: 120_000 });
  const result = interpretAudit(run.stdout ?? '', level);
  if (result.outcome === 'clean') {
    console.log(`dependency audit: ${result.message}`);
  } else if (result.outcome === 'advisories') {
    console.error(`dependency audit FAILED: ${result.message} (npm audit for details)`);
    process.exit(1);
  } else {
    console.error(`dependency audit NOT DONE: ${result.message}. Known advisories were NOT checked; see README "Dependencies and their risks".`);
    if (process.env.REQUIRE_DEPENDENCY_AUDIT === 'true') process.exit(1);
  }
}
