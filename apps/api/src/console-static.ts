import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';

/**
 * Serves the built ops console (`npm run build` -> dist/console): index.html at `/` and the hashed
 * bundles under `/assets/`. Nothing else is static, so every REST route keeps its path (the console
 * routes by URL hash: `/#/queue`). Public files: the data they show comes from the API, behind the
 * session. Without a build the API runs as before and `/` answers 404.
 */
export function serveConsole(app: NestExpressApplication, dir: string): boolean {
  const root = resolve(dir);
  const index = resolve(root, 'index.html');
  if (!existsSync(index)) return false;
  app.useStaticAssets(resolve(root, 'assets'), { prefix: '/assets/', index: false, fallthrough: false, dotfiles: 'deny' });
  app.use((req: Request, res: Response, next: NextFunction) => {
    if ((req.method === 'GET' || req.method === 'HEAD') && (req.path === '/' || req.path === '/index.html')) {
      res.type('html').sendFile('index.html', { root, dotfiles: 'deny' });
      return;
    }
    next();
  });
  return true;
}
