import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';

export { CHROMIUM_INSTALL, chromiumPath, launchChromium } from '@app/testing';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

/**
 * The console built from the current sources: a content hash of apps/console (and the lock file)
 * names the build, so test files share one build per source state and never test a stale one. Built
 * into a temporary directory and renamed into place (two Jest workers may build at once).
 */
export function builtConsole(): string {
  const hash = createHash('sha256');
  for (const file of filesUnder(join(ROOT, 'apps/console')).sort()) {
    if (!statSync(file).isFile()) continue;
    hash.update(file.slice(ROOT.length)).update(readFileSync(file));
  }
  hash.update(readFileSync(join(ROOT, 'package-lock.json')));
  const cache = join(ROOT, 'node_modules/.cache/klear-console');
  const dir = join(cache, hash.digest('hex').slice(0, 16));
  if (existsSync(join(dir, 'index.html'))) return dir;
  mkdirSync(cache, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--bypass-lock', '--config', join(ROOT, 'apps/console/vite.config.ts')],
    {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'production', CONSOLE_OUT_DIR: tmp },
      stdio: 'pipe',
    },
  );
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another worker won the race: its build is the same
  }
  return dir;
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

const axeSource = readFileSync(join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8');

/** axe-core's WCAG 2.1 A/AA rules on the page as it is now (injected through the DevTools protocol, so the page's CSP stays strict). */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run((globalThis as unknown as { document: unknown }).document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
}

/** Where screenshots go: kept after the run as test artefacts (test-artifacts/console/). */
export function artefactDir(): string {
  const dir = join(ROOT, 'test-artifacts/console');
  mkdirSync(dir, { recursive: true });
  return dir;
}
