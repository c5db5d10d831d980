import { describe, expect, it } from '@jest/globals';
// @ts-expect-error: a plain .mjs script of the CI, without types
import { interpretAudit } from '../../.ci/audit-dependencies.mjs';

describe('the CI dependency audit', () => {
  it('says plainly that nothing was checked when the registry offers no audit data', () => {
    const mirror = JSON.stringify({
      message: '405 Method Not Allowed - POST https://mirror.example/-/npm/v1/security/advisories/bulk',
      statusCode: 405,
      error: { summary: '' },
    });
    expect(interpretAudit(mirror)).toEqual({
      outcome: 'unavailable',
      message: 'the registry offers no audit data (405 Method Not Allowed - POST <registry>)',
    });
    expect(interpretAudit('not json').outcome).toBe('unavailable');
  });

  it('fails on a known advisory at or above the level, and passes a clean tree', () => {
    const report = (counts: Record<string, number>, vulnerabilities: Record<string, unknown> = {}) =>
      JSON.stringify({
        auditReportVersion: 2,
        vulnerabilities,
        metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, total: 0, ...counts } },
      });
    expect(interpretAudit(report({})).outcome).toBe('clean');
    const advised = report({ high: 1, total: 1 }, { unzipper: { name: 'unzipper', severity: 'high' } });
    expect(interpretAudit(advised)).toEqual({ outcome: 'advisories', message: '1 known advisory(ies) at or above low: unzipper (high)' });
    expect(interpretAudit(advised, 'critical').outcome).toBe('clean');
  });
});
