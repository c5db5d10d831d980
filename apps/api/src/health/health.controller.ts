import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { Public, Roles } from '@app/auth';
import type { Response } from 'express';
import { ApiErrors } from '../openapi';
import { HealthService } from './health.service';

class LivenessView {
  @ApiProperty({ enum: ['ok'] }) status: string;
}

class ReadinessView {
  @ApiProperty({ enum: ['ready', 'degraded', 'not_ready'] }) status: string;
}

class CheckView {
  @ApiProperty({ enum: ['up', 'down'] }) status: string;
  @ApiProperty({ required: false, example: 'pending: AuditCheckpoint1796227123662', description: 'why it is down' }) detail?: string;
}

class ChecksView {
  @ApiProperty({ type: CheckView }) database: CheckView;
  @ApiProperty({ type: CheckView, description: 'down while a migration is pending (named)' }) migrations: CheckView;
  @ApiProperty({ type: CheckView, description: 'reported, not required: the API serves what was ingested while Klear is away' })
  klear: CheckView;
  @ApiProperty({
    type: CheckView,
    description: 'reported, not required: down while rows sit in a default (safety-net) partition, naming the tables and key range',
  })
  partitions: CheckView;
}

class PullCheckView {
  @ApiProperty({ enum: ['fresh', 'stale'] }) status: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) pulled_at: string | null;
  @ApiProperty({ type: Number, nullable: true, example: 42 }) age_seconds: number | null;
  @ApiProperty({ example: 900, description: 'HEALTH_STALE_<PULL>_SECONDS' }) max_age_seconds: number;
}

class PullChecksView {
  @ApiProperty({ type: PullCheckView }) balance: PullCheckView;
  @ApiProperty({ type: PullCheckView }) active_obligations: PullCheckView;
  @ApiProperty({ type: PullCheckView }) estimate: PullCheckView;
}

class ReadinessDetailsView {
  @ApiProperty({ enum: ['ok', 'degraded', 'unavailable'] }) status: string;
  @ApiProperty({ type: [String], example: ['estimate'], description: 'the key pulls older than their limit' }) stale: string[];
  @ApiProperty({ type: ChecksView }) checks: ChecksView;
  @ApiProperty({ type: PullChecksView, nullable: true, description: 'null while the database is unavailable' })
  pulls: PullChecksView | null;
}

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Public()
  @Get('live')
  @HttpCode(200)
  @ApiOkResponse({ type: LivenessView })
  @ApiOperation({ summary: 'Liveness: the process answers' })
  live() {
    return { status: 'ok' };
  }

  @Public()
  @Get('ready')
  @ApiOkResponse({ type: ReadinessView, description: 'ready or degraded' })
  @ApiServiceUnavailableResponse({ type: ReadinessView, description: 'not_ready' })
  @ApiOperation({
    summary:
      'Readiness: `ready` (200) when the database answers and every migration is applied; `degraded` (200, still serving) when a key Klear pull (balance, active obligations, estimate) is stale; `not_ready` (503) otherwise. Which pull: /health/details',
  })
  async ready(@Res({ passthrough: true }) res: Response) {
    const status = await this.health.ready();
    res.status(status === 'not_ready' ? 503 : 200);
    return { status };
  }

  @Get('details')
  @Roles('viewer')
  @ApiOkResponse({ type: ReadinessDetailsView })
  @ApiBearerAuth()
  @ApiErrors()
  @ApiOperation({
    summary:
      "Readiness with each check (database, migrations with pending names, Klear reachability, rows in default partitions) and each key pull's age; `degraded` names the stale pulls; 503 when not ready",
  })
  async details(@Res({ passthrough: true }) res: Response) {
    const report = await this.health.readiness();
    res.status(report.status === 'unavailable' ? 503 : 200);
    return report;
  }
}
