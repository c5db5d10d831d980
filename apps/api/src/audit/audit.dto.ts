import { ApiProperty } from '@nestjs/swagger';

/* The answers of GET /audit and GET /audit/entities, as documented in /docs-json. */

export class AuditRowView {
  @ApiProperty({ example: '1042' }) seq: string;
  @ApiProperty({ format: 'date-time' }) occurred_at: string;
  @ApiProperty({ example: 'demo-approver-1' }) actor: string;
  @ApiProperty({ example: 'withdrawal.approval' }) action: string;
  @ApiProperty({ example: 'withdrawal' }) entity: string;
  @ApiProperty({ type: String, nullable: true }) entity_id: string | null;
  @ApiProperty({ type: String, nullable: true }) from: string | null;
  @ApiProperty({ type: String, nullable: true }) to: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'the text the person gave (comment, note, reason)' }) reason: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true }) details: Record<string, unknown> | null;
  @ApiProperty({ type: String, nullable: true }) request_hash: string | null;
  @ApiProperty({ description: "the row's link in the hash chain" }) hash: string;
}

export class AuditPageView {
  @ApiProperty({ type: [AuditRowView] }) data: AuditRowView[];
  @ApiProperty({ type: String, nullable: true }) next_cursor: string | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'the chain verified from the newest trusted checkpoint: ok, checked, first_broken_seq, problem, macs, anchor, checkpoint',
  })
  chain: object;
}

export class AuditEntityView {
  @ApiProperty({ example: 'recon_break' }) entity: string;
  @ApiProperty({ example: 12 }) rows: number;
}

export class AuditEntitiesView {
  @ApiProperty({ type: [AuditEntityView] }) data: AuditEntityView[];
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, example: { break: 'recon_break' } }) aliases: Record<
    string,
    string
  >;
}
