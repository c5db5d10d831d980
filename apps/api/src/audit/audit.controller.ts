import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { AuditService } from '@app/audit';
import { Roles } from '@app/auth';
import { decodeCursor, Expensive, PageQuery, toPage } from '@app/http';
import { ApiErrors } from '../openapi';

export class AuditQuery extends PageQuery {
  @ApiPropertyOptional({ example: 'withdrawal' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  entity?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(128)
  entity_id?: string;
}

@ApiTags('audit')
@ApiBearerAuth()
@ApiErrors()
@Controller('audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @Roles('viewer')
  @Expensive()
  @ApiOperation({ summary: 'The audit log, oldest first, with the verification of the whole hash chain' })
  async list(@Query() q: AuditQuery) {
    const limit = q.limit ?? 50;
    const after = decodeCursor(q.cursor, ['int'])?.[0];
    const rows = await this.audit.list({ entityType: q.entity, entityId: q.entity_id, afterSeq: after, limit: limit + 1 });
    const page = toPage(rows, limit, (r) => [r.seq], (r) => ({
      seq: r.seq,
      occurred_at: r.occurredAt.toISOString(),
      actor: r.actor,
      action: r.action,
      entity: r.entityType,
      entity_id: r.entityId,
      from: r.fromState,
      to: r.toState,
      reason: r.reason,
      details: r.details,
      request_hash: r.requestHash,
      hash: r.hash,
    }));
    return { ...page, chain: await this.audit.verify() };
  }
}
