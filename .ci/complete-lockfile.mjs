#!/usr/bin/env node
// The registry mirror of this workplace serves no darwin/win32/... builds of native packages, so
// `npm install` leaves their optional entries out of package-lock.json, and `npm ci` (npm 11) then
// refuses the lock as out of sync. This adds the missing platform entries (version, os, cpu, libc,
// optional) so that `npm ci` works here and fetches the right binary on any other platform.
// Run after any change of dependencies: node .ci/complete-lockfile.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;

function platformOf(name) {
  const tail = name.split('/').pop();
  const os = ['darwin', 'win32', 'linux', 'android', 'freebsd', 'openharmony', 'netbsd', 'openbsd', 'sunos', 'aix'].find((o) => tail.includes(`-${o}-`) || tail.startsWith(`${o}-`));
  const cpu = ['arm64', 'x64', 'ia32', 'arm', 'ppc64', 's390x', 'loong64', 'riscv64', 'mips64el', 'wasm32'].find((c) => new RegExp(`-${c}(-|$)`).test(tail));
  if (!os || !cpu) return null;
  const libc = /-musl/.test(tail) ? ['musl'] : /-gnu/.test(tail) ? ['glibc'] : undefined;
  return { os: [os], cpu: [cpu], ...(libc ? { libc } : {}) };
}

let added = 0;
for (const [path, meta] of Object.entries(packages)) {
  for (const [dep, version] of Object.entries(meta.optionalDependencies ?? {})) {
    const candidates = [`${path ? `${path}/` : ''}node_modules/${dep}`, `node_modules/${dep}`];
    if (candidates.some((c) => packages[c])) continue;
    const platform = platformOf(dep);
    if (!platform) continue;
    packages[`node_modules/${dep}`] = { version, ...platform, optional: true };
    added += 1;
  }
}

const sorted = { '': packages[''] };
for (const key of Object.keys(packages).filter((k) => k !== '').sort()) sorted[key] = packages[key];
lock.packages = sorted;
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
process.stdout.write(`package-lock.json: ${added} platform entries added\n`);
