import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsIn, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { ROLES, type Role } from '@app/auth';
import type { ApiToken, AppUser } from '@app/db';

export class CreateUserBody {
  @ApiProperty({ example: 'alice', description: '1-64 characters: letters, digits, . _ - @' })
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  @Matches(/^[A-Za-z0-9._@-]+$/, { message: 'name may contain letters, digits, . _ - @ only' })
  name: string;

  @ApiProperty({ enum: ROLES, isArray: true, example: ['operator'] })
  @ArrayMinSize(1)
  @ArrayMaxSize(4)
  @ArrayUnique()
  @IsIn(ROLES, { each: true })
  roles: Role[];
}

export class IssueTokenBody {
  @ApiProperty({ example: 'reconciliation script' })
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  label: string;
}

export function tokenView(t: ApiToken) {
  return {
    id: t.id,
    user_id: t.userId,
    label: t.label,
    token_prefix: t.tokenPrefix,
    created_at: t.createdAt.toISOString(),
    last_used_at: t.lastUsedAt?.toISOString() ?? null,
    revoked_at: t.revokedAt?.toISOString() ?? null,
  };
}

export function userView(u: AppUser & { tokens?: ApiToken[] }) {
  return {
    id: u.id,
    name: u.name,
    roles: u.roles,
    created_at: u.createdAt.toISOString(),
    disabled_at: u.disabledAt?.toISOString() ?? null,
    ...(u.tokens ? { tokens: u.tokens.map(tokenView) } : {}),
  };
}
