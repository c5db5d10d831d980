import { ApiProperty } from '@nestjs/swagger';
import { ADMIN_PROPOSAL_KINDS, ADMIN_PROPOSAL_STATES, ROLES } from '@app/db';

/*
 * The answers of the admin-proposal, user, token, invitation and session routes, as documented in
 * /docs-json (test/foundation/openapi-responses.test.ts holds every answer to them). A secret (a token,
 * an invitation code) is in the one answer that creates it, and documented there as such.
 */

const nullableText = (example?: string, description?: string) => ({ type: String, nullable: true, ...(example ? { example } : {}), ...(description ? { description } : {}) });
const nullableTime = (description?: string) => ({ type: String, nullable: true, format: 'date-time', ...(description ? { description } : {}) });

export class AdminProposalView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: ADMIN_PROPOSAL_KINDS }) kind: string;
  @ApiProperty({ enum: ADMIN_PROPOSAL_STATES, description: 'pending until a second admin approves (applied) or rejects it; void when expired or overtaken' }) state: string;
  @ApiProperty({ type: String, nullable: true, format: 'uuid', description: 'the user the change is about (null for a policy change or a user still to create)' }) target_user_id: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'the change as proposed (a user: name, roles; a policy: its terms, centicents as decimal strings)' }) payload: Record<string, unknown>;
  @ApiProperty({ enum: ROLES, isArray: true, example: ['approver'], description: 'privileged roles the change gives its target' }) grants: string[];
  @ApiProperty({ format: 'uuid' }) proposed_by: string;
  @ApiProperty({ example: 'test-admin' }) proposed_by_name: string;
  @ApiProperty({ format: 'date-time' }) proposed_at: string;
  @ApiProperty({ format: 'date-time' }) expires_at: string;
  @ApiProperty({ type: String, nullable: true, format: 'uuid' }) decided_by: string | null;
  @ApiProperty(nullableText('second-admin')) decided_by_name: string | null;
  @ApiProperty(nullableTime()) decided_at: string | null;
  @ApiProperty(nullableText()) decision_reason: string | null;
}
