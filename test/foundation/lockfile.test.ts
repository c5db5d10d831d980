import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';

interface LockPackage {
  optionalDependencies?: Record<string, string>;
}

describe('package-lock.json', () => {
  it('lists every optional platform build, so that npm ci accepts it on any machine', () => {
    const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as {
      packages: Record<string, LockPackage>;
    };
    const missing: string[] = [];
    for (const [path, meta] of Object.entries(lock.packages)) {
      for (const dep of Object.keys(meta.optionalDependencies ?? {})) {
        const nested = `${path ? `${path}/` : ''}node_modules/${dep}`;
        if (!lock.packages[nested] && !lock.packages[`node_modules/${dep}`]) missing.push(dep);
      }
    }
    // When this fails: node .ci/complete-lockfile.mjs (see docs/development.md).
    expect(missing).toEqual([]);
  });
});
