import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** Fails the run when a simulator answer broke the OpenAPI contract (see global-setup.mjs). */
function conformanceReport() {
  const dir = globalThis.__KLEAR_CONFORMANCE_DIR__;
  if (!dir) return;
  let checked = 0;
  let skipped = 0;
  const violations = [];
  for (const name of readdirSync(dir)) {
    const text = readFileSync(join(dir, name), 'utf8');
    if (name.startsWith('checked-')) {
      for (const line of text.split('\n').filter(Boolean)) {
        const [c, s] = line.split(' ').map(Number);
        checked += c;
        skipped += s;
      }
    } else if (name.startsWith('violations-')) {
      violations.push(...text.split('\n').filter(Boolean));
    }
  }
  rmSync(dir, { recursive: true, force: true });
  if (checked + skipped > 0)
    process.stderr.write(
      `\n[conformance] ${checked} simulator answers validated against the OpenAPI contract, ${skipped} too large to hold\n`,
    );
  if (violations.length > 0) {
    throw new Error(
      `[conformance] ${violations.length} simulator answers break the OpenAPI contract:\n${violations.slice(0, 20).join('\n')}`,
    );
  }
}

export default async function globalTeardown() {
  const server = globalThis.__KLEAR_TEST_PG__;
  try {
    if (server) await server.stop();
  } finally {
    // The server removes its data directory (persistent: false); the temp directory that held it goes too.
    const base = globalThis.__KLEAR_TEST_PG_BASE__;
    if (base) rmSync(base, { recursive: true, force: true });
  }
  conformanceReport();
}
