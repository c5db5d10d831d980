import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Every source file under `dir` whose name matches `pattern`, without unit specs, node_modules or dist (for the grep tests). */
export function productSources(dir: string, pattern = /\.(ts|mts|js|mjs)$/): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist') continue;
    if (statSync(path).isDirectory()) out.push(...productSources(path, pattern));
    else if (pattern.test(name) && !/\.spec\.ts$/.test(name)) out.push(path);
  }
  return out;
}
