import { CanActivate, ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthFailureLimiter } from './auth-failure-limiter';
import type { Principal } from './principal';
import { PUBLIC_KEY, ROLES_KEY, rolesAllow, type Role } from './roles';
import { UsersService } from './users.service';

type GuardedRequest = { headers: Record<string, string | undefined>; ip?: string; principal?: Principal };

/**
 * Global guard: every route needs a valid token and a role, unless marked @Public(). It runs before
 * any body is read (bodies are parsed after the guards: JsonBodyInterceptor). Failed credentials
 * are counted per client address (AuthFailureLimiter); a second credential type (the console's
 * session cookie) plugs in beside the bearer token in `principalOf`, under the same limiter.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly users: UsersService,
    private readonly failures: AuthFailureLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const request = context.switchToHttp().getRequest<GuardedRequest>();
    const client = request.ip ?? 'unknown';
    await this.failures.assertNotBlocked(client);
    const principal = await this.principalOf(request, client);
    request.principal = principal;
    const required = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (!required || required.length === 0) {
      // Fail closed: a route someone forgot to annotate is not open to everyone.
      throw new ForbiddenException({ code: 'FORBIDDEN', message: 'this route declares no role' });
    }
    if (!rolesAllow(required, principal.roles)) {
      throw new ForbiddenException({ code: 'FORBIDDEN', message: `this route needs one of the roles: ${required.join(', ')}` });
    }
    return true;
  }

  private async principalOf(request: GuardedRequest, client: string): Promise<Principal> {
    const header = request.headers['authorization'] ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new UnauthorizedException({ code: 'UNAUTHENTICATED', message: 'an API token is required (Authorization: Bearer <token>)' });
    const principal = await this.users.authenticate(match[1]);
    if (!principal) {
      await this.failures.recordFailure(client);
      throw new UnauthorizedException({ code: 'UNAUTHENTICATED', message: 'the API token is unknown or revoked' });
    }
    return principal;
  }
}
