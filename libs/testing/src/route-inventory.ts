import type { INestApplication } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { PATH_METADATA, METHOD_METADATA } from '@nestjs/common/constants.js';
import { RequestMethod } from '@nestjs/common';
import { PUBLIC_KEY, ROLES_KEY, type Role } from '@app/auth';

export interface RouteInfo {
  method: string;
  path: string;
  roles: Role[];
  public: boolean;
}

function joinPath(a: string, b: string): string {
  const p = `/${[a, b]
    .map((s) => s.replace(/^\/+|\/+$/g, ''))
    .filter(Boolean)
    .join('/')}`;
  return p;
}

/** Routes as Nest registered them, with their role metadata. */
export function nestRoutes(app: INestApplication): RouteInfo[] {
  const discovery = new DiscoveryService(app.get(ModulesContainer));
  const scanner = new MetadataScanner();
  const reflector = app.get(Reflector);
  const out: RouteInfo[] = [];
  for (const wrapper of discovery.getControllers()) {
    const instance = wrapper.instance as object | undefined;
    if (!instance) continue;
    const ctrl = instance.constructor;
    const prefixes = ([] as string[]).concat(Reflect.getMetadata(PATH_METADATA, ctrl) ?? '');
    for (const name of scanner.getAllMethodNames(Object.getPrototypeOf(instance))) {
      const handler = (instance as Record<string, unknown>)[name] as object;
      const paths = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (paths === undefined || method === undefined) continue;
      const roles = reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, [handler as never, ctrl]) ?? [];
      const isPublic = reflector.getAllAndOverride<boolean | undefined>(PUBLIC_KEY, [handler as never, ctrl]) ?? false;
      for (const prefix of prefixes) {
        for (const p of ([] as string[]).concat(paths)) {
          out.push({ method: RequestMethod[method], path: joinPath(prefix, p), roles, public: isPublic });
        }
      }
    }
  }
  return out;
}

/** Routes as the HTTP router (Express 5) actually serves them: what a caller can reach. */
export function routerRoutes(app: INestApplication): Array<{ method: string; path: string }> {
  const instance = app.getHttpAdapter().getInstance() as { router?: { stack: unknown[] }; _router?: { stack: unknown[] } };
  const stack = (instance.router ?? instance._router)?.stack ?? [];
  const out: Array<{ method: string; path: string }> = [];
  for (const layer of stack as Array<{ route?: { path: string; methods: Record<string, boolean> } }>) {
    // Middleware mounted for every path (e.g. request logging) shows up as a catch-all route.
    if (!layer.route || layer.route.path.includes('*splat')) continue;
    for (const [m, on] of Object.entries(layer.route.methods)) {
      if (on && m !== '_all') out.push({ method: m.toUpperCase(), path: layer.route.path });
    }
  }
  return out;
}
