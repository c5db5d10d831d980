import { SetMetadata } from '@nestjs/common';
import { ROLES, type Role } from '@app/db';

export { ROLES, type Role };

export const ROLES_KEY = 'klear:roles';
export const PUBLIC_KEY = 'klear:public';

/**
 * The roles allowed to call a route (any one of them suffices). Every non-public route must carry
 * this: the guard refuses routes without it (fail closed). Every role may read, so `viewer` routes
 * are open to all authenticated users; `operator`, `approver` and `admin` are never implied by
 * one another (separation of duties).
 */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

/** A route that needs no token (health only). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

export function rolesAllow(required: readonly Role[], held: readonly Role[]): boolean {
  if (required.includes('viewer') && held.length > 0) return true;
  return required.some((r) => held.includes(r));
}

export function parseRoles(text: string): Role[] {
  const roles = text
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const unknown = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (roles.length === 0 || unknown.length > 0) {
    throw new Error(
      `roles must be a comma-separated list of ${ROLES.join(', ')}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}`,
    );
  }
  return [...new Set(roles)] as Role[];
}
