import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Role } from './roles';

/** Who is calling: attached to the request by the AuthGuard. */
export interface Principal {
  userId: string;
  name: string;
  roles: Role[];
  /** The API token used (scripts), or null for a console session. */
  tokenId: string | null;
  /** The console session used, when the caller signed in through the console. */
  sessionId?: string;
}

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<{ principal?: Principal }>().principal;
  if (!principal) throw new Error('CurrentPrincipal used on a public route');
  return principal;
});
