import { resolve } from 'node:path';
import type { DemoUser } from './demo-users';
import type { StoryOutcome } from './story';

export interface DemoSummary {
  apiUrl: string;
  simUrl: string;
  dataDir: string;
  users: DemoUser[];
  story: StoryOutcome;
  mailboxUrl: string;
  /** Who received the "please approve" email of the waiting withdrawal. */
  approvalMail: string[];
  metricsUrls: string[];
  /** How to call the CLI on the demo's data: with the demo's SECRETS_KEY (the TOTP secrets are sealed with it). */
  cli: string;
}

/** The console's address: WebAuthn (passkeys) needs a host name, so loopback is shown as localhost. */
function consoleUrl(apiUrl: string): string {
  return `${apiUrl.replace('127.0.0.1', 'localhost')}/`;
}

/** The short, readable summary a newcomer reads first. Tokens are demo-only, printed on purpose. */
export function printSummary(s: DemoSummary): void {
  const token = (name: string) => s.users.find((u) => u.name === name)?.token ?? '';
  // The user's name in the product (after a reset: `demo-approver-1-g2`), which the CLI takes.
  const userName = (name: string) => s.users.find((u) => u.name === name)?.userName ?? name;
  const checks = Object.entries(s.story.breaksByCheck)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([check, n]) => `${check} ${n}`)
    .join(', ');
  const lines = [
    '',
    '================ Klear SCM back office is running ================',
    `API        ${s.apiUrl}`,
    `Console    ${consoleUrl(s.apiUrl)}   (open it in two browser windows, one per approver)`,
    `API docs   ${s.apiUrl}/docs`,
    `Klear sim  ${s.simUrl}`,
    `Mailbox    ${s.mailboxUrl}   (notification emails: approval requests, failures, stale jobs)`,
    `Metrics    ${s.metricsUrls.join('  ')}`,
    `Data       ${s.dataDir}`,
    '',
    'Demo users (each redeemed their own invitation; tokens kept in .data/demo-users.json, 0600, reused while valid):',
    ...s.users.map((u) => `  ${u.name.padEnd(16)} ${u.roles.join(',').padEnd(16)} ${u.token}`),
    '',
    'Console sign-ins (password, then the authenticator code: add the TOTP secret to an app, or ask the CLI):',
    ...s.users.map((u) => `  ${u.name.padEnd(16)} password ${u.password.padEnd(26)} TOTP secret ${u.totpSecret}`),
    `  current code:  ${s.cli} totp:code --user ${userName('demo-approver-1')}`,
    '',
    `Obligations ingested   ${s.story.obligations} (${s.story.cycles} cycles reconciled), asset classes ${s.story.live.assetClasses.join(', ')}`,
    `Truncated obligations  ${s.story.live.truncatedCount} completed from their pages${
      s.story.live.truncated
        ? `, e.g. ${s.story.live.truncated.id} (${s.story.live.truncated.assetClass}): ${s.story.live.truncated.details} settlement details, ${s.story.live.truncated.lists.join(' and ')} cut at 1,000 inline and read in full`
        : ''
    }`,
    `Funding payments       ${s.story.live.funding.payments} over ${s.story.live.funding.obligations} obligations${
      s.story.live.funding.latest
        ? `; latest ${s.story.live.funding.latest.id}: ${s.story.live.funding.latest.payments} payments, net ${s.story.live.funding.latest.usd}`
        : ''
    }`,
    `Netted group           ${s.story.live.group ? `${s.story.live.group.id}: ${s.story.live.group.members.join(', ')}${s.story.live.group.marginUsd ? `, margin ${s.story.live.group.marginUsd}` : ''} (GET /subtrader-groups)` : 'none'}`,
    `Active obligation      ${s.story.activeObligation}`,
    `Margin reports         ${
      s.story.marginReports.newest
        ? `${s.story.marginReports.count} held, dated ${s.story.marginReports.oldest} to ${s.story.marginReports.newest} (GET /reports)`
        : 'none held yet'
    }`,
    `Ledger entries         ${s.story.ledger.created} new, ${s.story.ledger.unchanged} already held`,
    `Open breaks            ${s.story.openBreaks}${checks ? ` (${checks})` : ''}`,
    `Workbook               ${s.story.workbook ? `${s.story.workbook.path} (${s.story.workbook.date}, version ${s.story.workbook.version})` : 'none (no settled cycle yet)'}`,
    ...(s.story.workbooks.length
      ? [
          `Workbooks built now    ${s.story.workbooks.map((w) => `${w.date} (${w.breakRows} on its Breaks sheet)`).join(', ')}; all: GET /exports`,
        ]
      : []),
    `Withdrawal waiting     $${s.story.withdrawal.amount}, ${s.story.withdrawal.state}, needs ${s.story.withdrawal.approvalsRequired} approvers (${s.story.withdrawal.id})`,
    `Approval email         sent to ${s.approvalMail.join(', ') || 'nobody'} (see the mailbox; never to the requester)`,
    '',
    'Try:',
    "  # the pending withdrawal and the jobs' last-success ages in the metrics",
    `  curl -s ${s.metricsUrls[0]} | grep -E "^klear_(withdrawals|withdrawal_oldest|job_last_success_age)"`,
    '  # the open breaks',
    `  curl -s -H "Authorization: Bearer ${token('demo-viewer')}" "${s.apiUrl}/breaks?status=open"`,
    '  # the approval queue of the first approver',
    `  curl -s -H "Authorization: Bearer ${token('demo-approver-1')}" ${s.apiUrl}/withdrawals/queue`,
    '  # approve as the first approver with a fresh authenticator code (the second approval is demo-approver-2)',
    `  curl -s -X POST -H "Authorization: Bearer ${token('demo-approver-1')}" -H "Content-Type: application/json" -d "{\\"step_up\\":{\\"method\\":\\"totp\\",\\"code\\":\\"$(${s.cli} totp:code --user ${userName('demo-approver-1')})\\"}}" ${s.apiUrl}/withdrawals/${s.story.withdrawal.id}/approve`,
    '',
    'Ctrl-C stops everything cleanly.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/**
 * The CLI command line that reaches this demo's database and keys: the embedded database's directory
 * and port when they are not the defaults (the CLI joins the running server), the generated
 * SECRETS_KEY read from its file. No secret is printed; DATABASE_URL, when set, is the caller's own.
 */
export function demoCliCommand(env: NodeJS.ProcessEnv, secretsKeyFile: string): string {
  const vars = [
    env.SECRETS_KEY ? null : `SECRETS_KEY=$(cat ${secretsKeyFile})`,
    env.EMBEDDED_PG_DATA_DIR ? `EMBEDDED_PG_DATA_DIR=${resolve(env.EMBEDDED_PG_DATA_DIR)}` : null,
    env.EMBEDDED_PG_PORT ? `EMBEDDED_PG_PORT=${env.EMBEDDED_PG_PORT}` : null,
  ].filter((v): v is string => v !== null);
  return vars.length ? `env ${vars.join(' ')} npm run -s cli --` : 'npm run -s cli --';
}
