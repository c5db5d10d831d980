import { execFileSync } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { demoCliCommand } from './summary';

describe("the demo's CLI command line", () => {
  it('carries a non-default embedded database and the key file, and works word-split as the README uses $CLI', () => {
    const cli = demoCliCommand({ EMBEDDED_PG_DATA_DIR: '/tmp/walk-demo/pg', EMBEDDED_PG_PORT: '42029' }, '/tmp/walk-demo/demo-secrets.key');
    expect(cli).toBe(
      'env SECRETS_KEY=$(cat /tmp/walk-demo/demo-secrets.key) EMBEDDED_PG_DATA_DIR=/tmp/walk-demo/pg EMBEDDED_PG_PORT=42029 npm run -s cli --',
    );
    // CLI="<that line>" then `$CLI totp:code ...`: the variables reach the command (a leading VAR=value would be taken for a command name).
    const shown = execFileSync(
      'bash',
      ['-c', `CLI="${cli.replace('npm run -s cli --', 'printenv EMBEDDED_PG_PORT EMBEDDED_PG_DATA_DIR')}"; $CLI`],
      { env: { PATH: process.env.PATH } },
    ).toString();
    expect(shown).toBe('42029\n/tmp/walk-demo/pg\n');
  });

  it('is the bare command when the caller set SECRETS_KEY and kept the default database', () => {
    expect(demoCliCommand({ SECRETS_KEY: 'x' }, '/nowhere')).toBe('npm run -s cli --');
  });
});
