import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { AuditEntitiesView, AuditPageView } from './audit.dto';
import { IsIn, IsISO8601, IsOptional, IsString, MaxLength } from 'class-validator';
import { AuditService } from '@app/audit';
import { Roles } from '@app/auth';
import { InvalidInput } from '@app/errors';
import { decodeCursor, Expensive, PageQuery, toPage } from '@app/http';
import { ApiErrors } from '../openapi';

/** The entity types the product audits (what `?entity=` takes). */
export const AUDIT_ENTITIES = [
  'admin_proposal',
  'api_token',
  'console_session',
  'export_file',
  'invitation',
  'job',
  'keyring',
  'ledger_batch',
  'ledger_import',
  'partition_month',
  'recon_break',
  'recon_run',
  'recon_summary',
  'stored_secret',
  'user',
  'withdrawal',
  'withdrawal_policy',
] as const;

/** The names a person reaches for first, mapped to the stored entity type (`?entity=break` is `recon_break`). */
const AUDIT_ENTITY_ALIASES: Record<string, string> = {
  break: 'recon_break',
  run: 'recon_run',
  reconciliation: 'recon_run',
  import: 'ledger_import',
  workbook: 'export_file',
  export: 'export_file',
  token: 'api_token',
  policy: 'withdrawal_policy',
  proposal: 'admin_proposal',
  session: 'console_session',
};

export class AuditQuery extends PageQuery {
  @ApiPropertyOptional({
    example: 'withdrawal',
    description: `entity type: ${AUDIT_ENTITIES.join(', ')}; aliases ${Object.entries(AUDIT_ENTITY_ALIASES)
      .map(([a, t]) => `${a} = ${t}`)
      .join(', ')}. A name the log does not know is a 400 listing the known ones (GET /audit/entities)`,
  })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  entity?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(128)
  entity_id?: string;

  @ApiPropertyOptional({ example: 'test-operator', description: 'who acted (a user name, or system / a job name)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  actor?: string;

  @ApiPropertyOptional({ example: '2026-11-03T00:00:00Z', description: 'rows that occurred at or after this instant' })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({ example: '2026-11-04T00:00:00Z', description: 'rows that occurred before this instant' })
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;

  @ApiPropertyOptional({ enum: ['desc', 'asc'], default: 'desc', description: 'desc (default): newest first; asc: oldest first' })
  @IsOptional()
  @IsIn(['desc', 'asc'])
  order?: 'desc' | 'asc';
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
  @ApiOkResponse({ type: AuditPageView })
  @ApiOperation({
    summary:
      'The audit log, newest first (?order=asc: oldest first), filtered by entity, actor and time range, with the chain verified from the newest trusted checkpoint (`chain.checkpoint`; `chain.checked` counts the rows after it)',
  })
  async list(@Query() q: AuditQuery): Promise<AuditPageView> {
    const limit = q.limit ?? 50;
    const after = decodeCursor(q.cursor, ['int'])?.[0];
    const entityType = q.entity === undefined ? undefined : await this.entityType(q.entity);
    const [from, to] = [q.from === undefined ? undefined : new Date(q.from), q.to === undefined ? undefined : new Date(q.to)];
    if (from && to && from > to) throw new InvalidInput('from must not be after to', [{ field: 'from', problems: ['after to'] }]);
    const filter = {
      entityType,
      entityId: q.entity_id,
      actor: q.actor,
      from,
      to,
      order: q.order ?? 'desc',
      afterSeq: after,
      limit: limit + 1,
    } as const;
    // The first page of the whole log, newest first (the console's view), comes with the verification's
    // own read of the chain's end (AuditService.newestWithChain); any other page is read by itself.
    const firstPageOfAll =
      filter.order === 'desc' && after === undefined && [entityType, q.entity_id, q.actor, from, to].every((v) => v === undefined);
    const { rows, chain } = firstPageOfAll
      ? await this.audit.newestWithChain(filter.limit)
      : { rows: await this.audit.list(filter), chain: undefined };
    const page = toPage(
      rows,
      limit,
      (r) => [r.seq],
      (r) => ({
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
      }),
    );
    return { ...page, chain: chain ?? (await this.audit.sharedVerification()).chain };
  }

  @Get('entities')
  @Roles('viewer')
  @ApiOkResponse({ type: AuditEntitiesView })
  @ApiOperation({
    summary: 'The entity types ?entity= takes: those the product audits and those in the log, with row counts, and the aliases',
  })
  async entities(): Promise<AuditEntitiesView> {
    const inLog = new Map((await this.audit.entityTypes()).map((e) => [e.entity, e.rows]));
    const names = [...new Set([...AUDIT_ENTITIES, ...inLog.keys()])].sort();
    return { data: names.map((entity) => ({ entity, rows: inLog.get(entity) ?? 0 })), aliases: AUDIT_ENTITY_ALIASES };
  }

  /** An alias or a known name; a name neither the product audits nor the log holds is a 400, never a silent empty page. */
  private async entityType(name: string): Promise<string> {
    const type = AUDIT_ENTITY_ALIASES[name] ?? name;
    if ((AUDIT_ENTITIES as readonly string[]).includes(type) || (await this.audit.hasEntityType(type))) return type;
    const known = [...new Set([...AUDIT_ENTITIES, ...(await this.audit.entityTypes()).map((e) => e.entity)])].sort();
    throw new InvalidInput(
      `entity: no audited entity is called ${JSON.stringify(name)}; known: ${known.join(', ')}`,
      [{ field: 'entity', problems: [`one of ${known.join(', ')} (or an alias: ${Object.keys(AUDIT_ENTITY_ALIASES).join(', ')})`] }],
      'UNKNOWN_AUDIT_ENTITY',
    );
  }
}
