import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { JobRegistry } from '@app/jobs';
import { createWorkerApplication } from '@apps/worker';
import { type ApiWorld, startApiWorld, testConfig } from '../support/api-world';
import { ROOT } from '../support/product-sources';

/** Issue 22: the jobs the worker schedules, `GET /jobs` and the README's list are one list. */
describe('one list of jobs', () => {
  let ctx: ApiWorld;
  let worker: INestApplicationContext;

  beforeAll(async () => {
    ctx = await startApiWorld();
    worker = await createWorkerApplication(testConfig({ DATABASE_URL: ctx.db.url, WORKER_JOBS_ENABLED: 'false' }), { silent: true });
  });
  afterAll(async () => {
    await worker?.close();
    await ctx?.close();
  });

  it('GET /jobs lists exactly the jobs the worker schedules, the withdrawal executor, poller and expiry included, and each has its runs route', async () => {
    const scheduled = worker
      .get(JobRegistry)
      .all()
      .map((j) => j.definition.name)
      .sort();
    const listed = await ctx.http().get('/jobs').set('Authorization', `Bearer ${ctx.tokens.viewer}`);
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((j: { name: string }) => j.name).sort()).toEqual(scheduled);
    expect(scheduled).toEqual(expect.arrayContaining(['withdrawal_executor', 'withdrawal_poller', 'withdrawal_expiry']));
    for (const name of scheduled) {
      const runs = await ctx.http().get(`/jobs/${name}/runs`).set('Authorization', `Bearer ${ctx.tokens.viewer}`);
      expect({ name, status: runs.status }).toEqual({ name, status: 200 });
    }
    expect((await ctx.http().get('/jobs/no_such_job/runs').set('Authorization', `Bearer ${ctx.tokens.viewer}`)).status).toBe(404);
  });

  it("the README's list of jobs names every scheduled job and no other", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const paragraph = readme.slice(readme.indexOf('Jobs (defaults, UTC):'), readme.indexOf('`POST /jobs/{name}/run` (operator)'));
    const named = [...paragraph.matchAll(/`([a-z][a-z0-9_]+)`/g)].map((m) => m[1]).sort();
    expect(named).toEqual(
      worker
        .get(JobRegistry)
        .all()
        .map((j) => j.definition.name)
        .sort(),
    );
  });
});
