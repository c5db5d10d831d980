import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditModule } from '@app/audit';
import { ClockModule } from '@app/clock';
import { ConfigModule } from '@app/config';
import { DbModule } from '@app/db';
import { JobRegistry, JobRunner, JobsModule } from '@app/jobs';
import { KlearClientModule } from '@app/klear-client';
import { WithdrawalJobsModule } from '@app/withdrawals';
import { testConfig } from '../support/api-world';
import { startWithdrawalWorld, type WithdrawalWorld } from './withdrawal-world';

let w: WithdrawalWorld;
let worker: INestApplicationContext;
beforeAll(async () => {
  w = await startWithdrawalWorld();
  const config = testConfig(w.env);
  // What the worker needs to run these jobs: the job framework (unscheduled here) and WithdrawalJobsModule.
  @Module({
    imports: [
      ConfigModule.forRoot(config),
      ClockModule.forRoot(),
      DbModule.forRoot({ applicationName: 'withdrawal-jobs-test', migrate: false }),
      AuditModule,
      KlearClientModule.forRoot(),
      JobsModule.forRoot({ schedule: false }),
      WithdrawalJobsModule,
    ],
  })
  class WorkerLike {}
  worker = await NestFactory.createApplicationContext(WorkerLike, { logger: false });
});
afterAll(async () => {
  await worker?.close();
  await w?.close();
});

describe('the withdrawal jobs in the job framework', () => {
  it('registers withdrawal_executor, withdrawal_poller and withdrawal_expiry', () => {
    const names = worker
      .get(JobRegistry)
      .all()
      .map((j) => j.definition.name);
    expect(names).toEqual(expect.arrayContaining(['withdrawal_executor', 'withdrawal_expiry', 'withdrawal_poller']));
  });

  it('runs the executor as a recorded job run that submits an approved request', async () => {
    const res = await w.request('250.00');
    await w.approve(res.body.id, w.api.tokens.approver);
    const run = await worker.get(JobRunner).runToEnd('withdrawal_executor', { trigger: 'manual', requestedBy: 'test' });
    expect(run).toMatchObject({ status: 'succeeded', itemsWritten: 1, details: expect.objectContaining({ submitted: 1 }) });
    expect((await w.get(res.body.id)).state).toBe('submitted');
    const poll = await worker.get(JobRunner).runToEnd('withdrawal_poller', { trigger: 'manual' });
    expect(poll).toMatchObject({ status: 'succeeded', itemsRead: 1 });
  });
});
