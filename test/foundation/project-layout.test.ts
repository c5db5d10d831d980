// The NestJS monorepo's project list is the map of the code: every app and library is in it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ROOT } from '../support/product-sources';

interface NestProject {
  type: 'application' | 'library';
  root: string;
  sourceRoot: string;
  entryFile: string;
}

const projects = (JSON.parse(readFileSync(join(ROOT, 'nest-cli.json'), 'utf8')) as { projects: Record<string, NestProject> }).projects;
const folders = (dir: string) =>
  readdirSync(join(ROOT, dir), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);

describe('nest-cli.json', () => {
  it('lists every app but the console (a Vite app), and every library, each at its own folder', () => {
    const expected = [
      ...folders('apps')
        .filter((a) => a !== 'console')
        .map((a) => [a, 'application', `apps/${a}`]),
      ...folders('libs').map((l) => [l, 'library', `libs/${l}`]),
    ].sort();
    expect(
      Object.entries(projects)
        .map(([name, p]) => [name, p.type, p.root])
        .sort(),
    ).toEqual(expected);
  });

  it('points each project at an entry file that exists', () => {
    const missing = Object.values(projects).filter((p) => !existsSync(join(ROOT, p.sourceRoot, `${p.entryFile}.ts`)));
    expect(missing).toEqual([]);
  });
});
