import { CanActivate, ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Principal } from './principal';
import { PUBLIC_KEY, ROLES_KEY, rolesAllow, type Role } from './roles';
import { UsersService } from './users.service';

/** Global guard: every route needs a valid token and a role, unless marked @Public(). */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly users: UsersService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined>; principal?: Principal }>();
    const header = request.headers['authorization'] ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new UnauthorizedException({ code: 'UNAUTHENTICATED', message: 'an API token is required (Authorization: Bearer <token>)' });
    const principal = await this.users.authenticate(match[1]);
    if (!principal) throw new UnauthorizedException({ code: 'UNAUTHENTICATED', message: 'the API token is unknown or revoked' });
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
}
