import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';

/**
 * Security headers on every response (helmet: HSTS, nosniff, frame and referrer policies, ...), a
 * Content-Security-Policy that allows nothing for the JSON API and just what Swagger UI needs on the
 * docs pages, and `Cache-Control: no-store` on every answer: authenticated data, and above all a
 * newly issued token, must never be kept by a browser or a proxy cache.
 */
export function securityHeaders(docsPrefix = '/docs'): (req: Request, res: Response, next: NextFunction) => void {
  const common = {
    crossOriginResourcePolicy: { policy: 'same-origin' as const },
    referrerPolicy: { policy: 'no-referrer' as const },
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
  };
  const api = helmet({
    ...common,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { 'default-src': ["'none'"], 'frame-ancestors': ["'none'"], 'base-uri': ["'none'"], 'form-action': ["'none'"] },
    },
  });
  // A page served from this origin: its own scripts and same-origin calls, never framed.
  const page = (extra: Record<string, string[]>) =>
    helmet({
      ...common,
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          'default-src': ["'none'"],
          'script-src': ["'self'"],
          'style-src': ["'self'"],
          'img-src': ["'self'", 'data:'],
          'connect-src': ["'self'"],
          'frame-ancestors': ["'none'"],
          'base-uri': ["'none'"],
          'form-action': ["'none'"],
          ...extra,
        },
      },
    });
  // Swagger UI sets style attributes and inline <style>.
  const docs = page({ 'style-src': ["'self'", "'unsafe-inline'"], 'font-src': ["'self'", 'data:'] });
  // The ops console (index.html at `/`, hashed bundles under /assets/): no inline script or style,
  // forms post only to this origin.
  const consolePolicy = page({ 'form-action': ["'self'"] });
  return (req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    const path = req.path;
    if (path === docsPrefix || path.startsWith(`${docsPrefix}/`) || path.startsWith(`${docsPrefix}-`)) return docs(req, res, next);
    if (isConsolePath(path)) return consolePolicy(req, res, next);
    api(req, res, next);
  };
}

/** The console's static paths: the page itself and its hashed bundles. */
export function isConsolePath(path: string): boolean {
  return path === '/' || path === '/index.html' || path.startsWith('/assets/');
}
