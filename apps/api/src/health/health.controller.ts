import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public, Roles } from '@app/auth';
import type { Response } from 'express';
import { ApiErrors } from '../openapi';
import { HealthService } from './health.service';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Public()
  @Get('live')
  @HttpCode(200)
  @ApiOperation({ summary: 'Liveness: the process answers' })
  live() {
    return { status: 'ok' };
  }

  @Public()
  @Get('ready')
  @ApiOperation({ summary: 'Readiness: `ready` (200) when the database answers and every migration is applied, else `not_ready` (503); nothing more without a token' })
  async ready(@Res({ passthrough: true }) res: Response) {
    const ready = await this.health.ready();
    res.status(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not_ready' };
  }

  @Get('details')
  @Roles('viewer')
  @ApiBearerAuth()
  @ApiErrors()
  @ApiOperation({ summary: 'Readiness with each check (database, migrations with pending names, Klear reachability); 503 when not ready' })
  async details(@Res({ passthrough: true }) res: Response) {
    const report = await this.health.readiness();
    res.status(report.status === 'ok' ? 200 : 503);
    return report;
  }
}
