import type { DemoUser } from './demo-users';

export interface DemoSummary {
  apiUrl: string;
  simUrl: string;
  dataDir: string;
  users: DemoUser[];
}

/** The short, readable summary a newcomer reads first. Tokens are demo-only, printed on purpose. */
export function printSummary(s: DemoSummary): void {
  const token = (name: string) => s.users.find((u) => u.name === name)?.token ?? '';
  const lines = [
    '',
    '================ Klear SCM back office is running ================',
    `API        ${s.apiUrl}`,
    `API docs   ${s.apiUrl}/docs`,
    `Klear sim  ${s.simUrl}`,
    `Data       ${s.dataDir}`,
    '',
    'Demo users (tokens are new on every run):',
    ...s.users.map((u) => `  ${u.name.padEnd(16)} ${u.roles.join(',').padEnd(16)} ${u.token}`),
    '',
    'Try:',
    `  curl -s ${s.apiUrl}/health/ready`,
    `  curl -s -H "Authorization: Bearer ${token('demo-viewer')}" ${s.apiUrl}/audit`,
    '',
    'Ctrl-C stops everything cleanly.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
