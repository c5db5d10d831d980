import { Controller, Get, Param, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentPrincipal, type Principal, Roles } from '@app/auth';
import { decodeCursor, Expensive, PageQuery, toPage } from '@app/http';
import { JobsService } from '@app/jobs';
import { ApiErrors, ApiPageResponse } from '../openapi';
import { JobRunOutcomeView, JobRunView, jobRunView, JobsView, jobView, RunJobQuery } from './jobs.dto';

@ApiTags('jobs')
@ApiBearerAuth()
@ApiErrors()
@Controller('jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Get()
  @Roles('viewer')
  @ApiOkResponse({ type: JobsView })
  @ApiOperation({ summary: 'Every job with its schedule (UTC cron), enabled flag, last run and last successful run' })
  async list(): Promise<JobsView> {
    return { data: (await this.jobs.overview()).map(jobView) };
  }

  @Get(':name/runs')
  @Roles('viewer')
  @ApiPageResponse(JobRunView)
  @ApiOperation({ summary: 'Runs of one job, newest first (running, succeeded, failed, skipped, abandoned)' })
  async runs(@Param('name') name: string, @Query() q: PageQuery) {
    const limit = q.limit ?? 50;
    const after = decodeCursor(q.cursor, ['timestamp', 'int']);
    const rows = await this.jobs.listRuns(name, limit + 1, after ? { startedAt: after[0], id: after[1] } : undefined);
    return toPage(rows, limit, (r) => [r.startedAt.toISOString(), r.id], jobRunView);
  }

  @Post(':name/run')
  @Roles('operator')
  @Expensive()
  @ApiOkResponse({ type: JobRunOutcomeView, description: 'finished (?wait=true) or skipped' })
  @ApiAcceptedResponse({ type: JobRunOutcomeView, description: 'started: the run continues' })
  @ApiOperation({
    summary: 'Run a job now',
    description:
      'The API runs the job in its own process under the same PostgreSQL advisory lock as the workers. ' +
      '`outcome` says what happened: `started` (202, the run continues; poll GET /jobs/{name}/runs), `skipped` ' +
      '(200, another instance is running it; recorded as a skipped run), `finished` (200, with ?wait=true), or `not_started` (503).',
  })
  async run(
    @Param('name') name: string,
    @Query() q: RunJobQuery,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) res: Response,
  ): Promise<JobRunOutcomeView> {
    const started = await this.jobs.runNow(name, principal.name);
    if (!started.run || started.run.status === 'failed') {
      res.status(503);
      return {
        outcome: 'not_started',
        reason: started.reason ?? 'the run could not be recorded',
        run: started.run ? jobRunView(started.run) : null,
      };
    }
    if (started.run.status === 'skipped') {
      res.status(200);
      return { outcome: 'skipped', reason: started.reason, run: jobRunView(started.run) };
    }
    if (q.wait) {
      const finished = await started.finished;
      res.status(200);
      return { outcome: 'finished', run: finished ? jobRunView(finished) : jobRunView(started.run) };
    }
    res.status(202);
    return { outcome: 'started', run: jobRunView(started.run) };
  }
}
