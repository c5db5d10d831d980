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
  @ApiBearerAuth()
  @ApiErrors()
  @ApiOperation({ summary: 'Readiness with each check (database, migrations with pending names, Klear reachability) and each key pull\'s age; `degraded` names the stale pulls; 503 when not ready' })
  async details(@Res({ passthrough: true }) res: Response) {
    const report = await this.health.readiness();
    res.status(report.status === 'unavailable' ? 503 : 200);
    return report;
  }
}
