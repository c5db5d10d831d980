import { CanActivate, ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { type ConsoleSession, ConsoleAuthService, SESSION_COOKIE, sameSecret } from './console-auth.service';
import type { Principal } from './principal';
import { PUBLIC_KEY, ROLES_KEY, rolesAllow, type Role } from './roles';
import { UsersService } from './users.service';

type GuardedRequest = {
  method: string;
  headers: Record<string, string | undefined>;
  ip?: string;
  principal?: Principal;
  consoleSession?: ConsoleSession;
};

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** One cookie's value from a Cookie header (no library: one name, no attributes to parse). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/**
 * Global guard: every route needs a valid token and a role, unless marked @Public(). It runs before
 * any body is read (bodies are parsed after the guards: JsonBodyInterceptor). Failed credentials
 * are counted per client address (AuthFailureLimiter). Two credentials: a bearer API token (scripts)
 * or the console's session cookie; with the cookie, every state-changing request must carry the
 * session's CSRF token in `X-CSRF-Token` (compared in constant time), or it is refused (403).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly users: UsersService,
    private readonly failures: AuthFailureLimiter,
    private readonly console: ConsoleAuthService,
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
    const cookie = cookieValue(request.headers['cookie'], SESSION_COOKIE);
    if (!header && cookie) return this.sessionPrincipal(request, cookie, client);
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match)
      throw new UnauthorizedException({ code: 'UNAUTHENTICATED', message: 'an API token is required (Authorization: Bearer <token>)' });
    const principal = await this.users.authenticate(match[1]);
    if (!principal) {
      await this.failures.recordFailure(client);
      throw new UnauthorizedException({ code: 'UNAUTHENTICATED', message: 'the API token is unknown or revoked' });
    }
    return principal;
  }

  private async sessionPrincipal(request: GuardedRequest, cookie: string, client: string): Promise<Principal> {
    const found = await this.console.authenticate(cookie);
    if (!found) {
      await this.failures.recordFailure(client);
      throw new UnauthorizedException({ code: 'UNAUTHENTICATED', message: 'the console session has ended: sign in again' });
    }
    if (!SAFE_METHODS.has(request.method.toUpperCase())) {
      const sent = request.headers['x-csrf-token'] ?? '';
      if (!sent || !sameSecret(sent, found.session.csrfToken)) {
        throw new ForbiddenException({
          code: 'CSRF_REFUSED',
          message: "a state-changing request with the session cookie needs the session's X-CSRF-Token header",
        });
      }
    }
    request.consoleSession = found.session;
    return found.principal;
  }
}
