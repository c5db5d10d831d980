import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { NotificationSender } from '@app/notifications';
import { type Mailbox, startMailbox } from '@apps/demo';
import { startHttpReceiver } from '../support/http-receiver';
import { startWithdrawalWorld, USD, type WithdrawalWorld } from '../withdrawals/withdrawal-world';

const SLACK_SECRET = 's'.repeat(40);
const CONSOLE = 'https://console.example.test/ops';
/** Who hears how a withdrawal ends: operators and approvers (and the requester, here an operator); admins without those roles do not. */
const OUTCOME_AUDIENCE = ['approver1@ops.test', 'approver2@ops.test', 'op-approver@ops.test', 'operator@ops.test'];

/**
 * Withdrawal notifications end to end: the real API writes the outbox with the transition, the
 * sender delivers over SMTP to a real SMTP server on loopback and to a local HTTP receiver, and the
 * test reads what actually arrived.
 */
describe('withdrawal notifications (SMTP on loopback, Slack-compatible receiver)', () => {
  let world: WithdrawalWorld;
  let mailbox: Mailbox;
  let slack: Awaited<ReturnType<typeof startHttpReceiver>>;
  let slackStatus = 200;
  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
  const send = () => world.app.get(NotificationSender, { strict: false }).runOnce();
  let opApprover: { id: string; token: string };

  beforeAll(async () => {
    mailbox = await startMailbox();
    slack = await startHttpReceiver(() => slackStatus);
    world = await startWithdrawalWorld({
      env: {
        NOTIFY_SMTP_URL: mailbox.smtpUrl,
        NOTIFY_SLACK_WEBHOOK_URL: slack.url,
        NOTIFY_SLACK_WEBHOOK_SECRET: SLACK_SECRET,
        NOTIFY_CONSOLE_URL: CONSOLE,
      },
    });
    const http = world.api.http;
    const t = world.api.tokens;
    // Each person sets their own address (and the second approver also wants approval requests on Slack).
    for (const [token, email, events] of [
      [t.operator, 'operator@ops.test', undefined],
      [t.approver, 'approver1@ops.test', undefined],
      [t.approver2, 'approver2@ops.test', { 'withdrawal.approval_requested': ['email', 'slack'] }],
      [t.admin, 'admin@ops.test', undefined],
    ] as const) {
      const res = await http().put('/notifications/preferences/me').set(auth(token)).send({ email, events });
      expect(res.status).toBe(200);
    }
    // An operator who is also an approver: requests a withdrawal, must not be asked to approve it.
    opApprover = await world.api.newUser('op-approver', ['operator', 'approver']);
    expect(
      (await http().put('/notifications/preferences/me').set(auth(opApprover.token)).send({ email: 'op-approver@ops.test' })).status,
    ).toBe(200);
  });

  afterAll(async () => {
    await world?.close();
    await slack?.close();
    await mailbox?.close();
  });

  it('a waiting withdrawal reaches every person who may approve it, not its requester; Slack once, signed; link to the console', async () => {
    const res = await world.request('250000.00', { token: opApprover.token });
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    const before = mailbox.messages.length;
    const summary = await send();
    expect(summary.skipped).toBe(false);
    const arrived = mailbox.messages.slice(before);
    const approvalMails = arrived.filter((m) => m.subject.includes('Approval needed'));
    // approver1, approver2, opApprover (excluded: requester); world.people approvers have no address.
    expect(approvalMails.map((m) => m.to.join(',')).sort()).toEqual(['approver1@ops.test', 'approver2@ops.test']);
    expect(mailbox.for('op-approver@ops.test')).toHaveLength(0);
    expect(mailbox.for('operator@ops.test')).toHaveLength(0);
    for (const mail of approvalMails) {
      expect(mail.subject).toBe('[Klear SCM] Approval needed: Please approve the withdrawal of $250,000.00 (requested by op-approver)');
      expect(mail.text).toContain(`Open in the console: https://console.example.test/ops/withdrawals/${id}`);
      expect(mail.text).toContain('Needs: 2 approval(s)');
      expect(mail.text).not.toMatch(/klear_[a-z0-9]{20,}|Bearer|token/i);
      expect(mail.messageId).toMatch(/^<notification-\d+@klear-scm\.invalid>$/);
    }
    // Slack: one post for the event, naming the one person who chose it, signed over timestamp.body.
    expect(slack.posts).toHaveLength(1);
    const post = slack.posts[0];
    const body = JSON.parse(post.body);
    expect(body.kind).toBe('withdrawal.approval_requested');
    expect(body.text).toContain('For: test-approver2');
    expect(body.link).toBe(`https://console.example.test/ops/withdrawals/${id}`);
    const ts = String(post.headers['x-klear-webhook-timestamp']);
    expect(post.headers['x-klear-webhook-signature']).toBe(
      `v1=${createHmac('sha256', SLACK_SECRET).update(`${ts}.${post.body}`).digest('hex')}`,
    );

    // The delivery log (admins): people without an address are listed as failed, never silently skipped.
    const log = await world.api.http().get('/notifications/deliveries').set(auth(world.api.tokens.admin));
    expect(log.status).toBe(200);
    const forThis = (log.body.data as Array<Record<string, any>>).filter((d) => d.subject_id === id);
    expect(
      forThis
        .filter((d) => d.status === 'delivered')
        .map((d) => `${d.channel}:${d.recipient_name ?? d.recipient}`)
        .sort(),
    ).toEqual(['email:test-approver', 'email:test-approver2', 'slack:channel']);
    const noAddress = forThis.filter((d) => d.status === 'failed');
    expect(noAddress.length).toBe(2); // world.people.adminApprover and approver3
    for (const d of noAddress) expect(d.last_error).toBe('no email address on file (notification preferences)');
    expect(forThis.every((d) => d.recipient_name !== 'op-approver')).toBe(true);
    const delivered = forThis.find((d) => d.channel === 'email' && d.status === 'delivered')!;
    expect(delivered.attempt_log).toEqual([expect.objectContaining({ attempt: 1, outcome: 'delivered' })]);
    // Non-admins do not see the log.
    expect((await world.api.http().get('/notifications/deliveries').set(auth(world.api.tokens.operator))).status).toBe(403);

    // A second sender run delivers nothing again.
    const again = await send();
    expect(again.delivered).toBe(0);
    expect(mailbox.messages.length).toBe(before + 2);
  });

  it('approval completes: the approved notice reaches operators, approvers and the requester once each', async () => {
    const res = await world.request('150000.00', { token: world.api.tokens.operator });
    const id = res.body.id as string;
    await send();
    expect((await world.approve(id, world.api.tokens.approver)).status).toBe(200);
    expect((await world.approve(id, world.api.tokens.approver2)).status).toBe(200);
    const before = mailbox.messages.length;
    await send();
    const approved = mailbox.messages.slice(before).filter((m) => m.subject.startsWith('[Klear SCM] Withdrawal approved'));
    expect(approved.map((m) => m.to[0]).sort()).toEqual([
      'approver1@ops.test',
      'approver2@ops.test',
      'op-approver@ops.test',
      'operator@ops.test',
    ]);
    expect(approved[0].text).toContain(`/withdrawals/${id}`);
  });

  it('a person who switches a kind off gets none of it; a failing webhook is retried later with backoff and recorded', async () => {
    const http = world.api.http;
    expect(
      (
        await http()
          .put('/notifications/preferences/me')
          .set(auth(world.api.tokens.approver))
          .send({ events: { 'withdrawal.approval_requested': [] } })
      ).status,
    ).toBe(200);
    const bad = await http()
      .put('/notifications/preferences/me')
      .set(auth(world.api.tokens.approver))
      .send({ events: { 'withdrawal.nope': ['email'], 'withdrawal.approved': ['pager'] } });
    expect(bad.status).toBe(400);
    slackStatus = 503;
    const before = mailbox.messages.length;
    const postsBefore = slack.posts.length;
    const res = await world.request('120000.00', { token: world.api.tokens.operator });
    const summary = await send();
    expect(summary.retrying).toBe(1); // the Slack post
    const arrived = mailbox.messages.slice(before);
    expect(arrived.map((m) => m.to[0]).sort()).toEqual(['approver2@ops.test', 'op-approver@ops.test']);
    const log = await http().get('/notifications/deliveries?status=pending').set(auth(world.api.tokens.admin));
    const slackRow = (log.body.data as Array<Record<string, any>>).find((d) => d.subject_id === res.body.id && d.channel === 'slack')!;
    expect(slackRow.attempt_log).toEqual([expect.objectContaining({ attempt: 1, outcome: 'retry', detail: 'answered 503' })]);
    expect(new Date(slackRow.next_attempt_at).getTime() - new Date(slackRow.attempt_log[0].finished_at).getTime()).toBe(30_000);
    // Not due yet: nothing is sent before the backoff passes.
    slackStatus = 200;
    expect((await send()).delivered).toBe(0);
    expect(slack.posts.length).toBe(postsBefore);
  });

  /** The mails of one kind (by its title) about one withdrawal that arrived after `since`. */
  const mailsAbout = (since: number, title: string, id: string) =>
    mailbox.messages.slice(since).filter((m) => m.subject.startsWith(`[Klear SCM] ${title}: `) && m.text.includes(`Withdrawal: ${id}`));
  const recipients = (mails: Array<{ to: string[] }>) => mails.map((m) => m.to.join(',')).sort();
  const expectPlainMessage = (text: string, id: string) => {
    expect(text).toContain(`Open in the console: ${CONSOLE}/withdrawals/${id}`);
    expect(text).not.toContain(world.sim.options.accessToken);
    expect(text).not.toMatch(/klear_[a-z0-9]{20,}|Bearer|token/i);
  };

  it('sent to Klear, then processed: operators, approvers and the requester are told once each, with the Klear id and the console link', async () => {
    const id = await world.approvedRequest(700n * USD);
    await send();
    const before = mailbox.messages.length;
    // (The request the earlier test approved is sent in the same run.)
    await world.executor().runOnce();
    expect((await world.get(id)).state).toBe('submitted');
    await send();
    const klearId = (await world.get(id)).klear_withdrawal_id as string;
    expect(klearId).toMatch(/^wd-/);
    const sent = mailsAbout(before, 'Withdrawal sent to Klear', id);
    expect(recipients(sent)).toEqual(OUTCOME_AUDIENCE);
    expect(sent[0].subject).toBe('[Klear SCM] Withdrawal sent to Klear: Sent to Klear: $700.00 (requested by test-operator)');
    expect(sent[0].text).toContain(`Klear withdrawal id: ${klearId}`);
    expect(sent[0].text).toContain('State: submitted');
    expectPlainMessage(sent[0].text, id);
    // Klear takes it in (processing: nobody is told), then processes it.
    await world.simAdmin('POST', '/clock/advance', { seconds: 60 });
    await world.tracking().pollOnce();
    expect((await world.get(id)).state).toBe('processing');
    const afterSent = mailbox.messages.length;
    await send();
    expect(mailbox.messages.length).toBe(afterSent);
    await world.simAdmin('POST', '/clock/advance', { seconds: 300 });
    await world.tracking().pollOnce();
    expect((await world.get(id)).state).toBe('processed');
    await send();
    const processed = mailsAbout(afterSent, 'Withdrawal processed', id);
    expect(recipients(processed)).toEqual(OUTCOME_AUDIENCE);
    expect(processed[0].subject).toBe('[Klear SCM] Withdrawal processed: Processed by Klear: $700.00 (requested by test-operator)');
    expect(processed[0].text).toContain(`Klear withdrawal id: ${klearId}`);
    expectPlainMessage(processed[0].text, id);
    // Exactly the sent and the processed notices about it, nothing to the admin-only person.
    expect(mailbox.messages.slice(before).filter((m) => m.text.includes(`Withdrawal: ${id}`))).toHaveLength(8);
    expect(mailbox.for('admin@ops.test').filter((m) => m.text.includes(id))).toHaveLength(0);
    expect((await send()).delivered).toBe(0);
  });

  it('a wire Klear reports failed is announced as FAILED to operators, approvers and the requester; never as processed', async () => {
    const id = await world.approvedRequest(800n * USD);
    expect(await world.executor().runOnce()).toMatchObject({ submitted: 1 });
    const klearId = (await world.get(id)).klear_withdrawal_id as string;
    // Klear decides this wire fails (the simulator's record of it).
    world.sim.context.state.withdrawalsById.get(klearId)!.fails = true;
    await send();
    const before = mailbox.messages.length;
    await world.simAdmin('POST', '/clock/advance', { seconds: 400 });
    await world.tracking().pollOnce();
    expect((await world.get(id)).state).toBe('failed');
    await send();
    const failed = mailsAbout(before, 'Withdrawal FAILED', id);
    expect(recipients(failed)).toEqual(OUTCOME_AUDIENCE);
    expect(failed[0].subject).toBe('[Klear SCM] Withdrawal FAILED: FAILED at Klear: $800.00 (requested by test-operator)');
    expect(failed[0].text).toContain(`Klear withdrawal id: ${klearId}`);
    expect(failed[0].text).toContain('State: failed');
    expectPlainMessage(failed[0].text, id);
    expect(mailsAbout(before, 'Withdrawal processed', id)).toHaveLength(0);
    expect(mailbox.messages.slice(before).filter((m) => m.text.includes(`Withdrawal: ${id}`))).toHaveLength(4);
  });

  it('a POST whose answer was lost (outcome_unknown) is announced to operators, approvers and the requester, saying nothing is re-sent', async () => {
    const id = await world.approvedRequest(900n * USD);
    await send();
    const before = mailbox.messages.length;
    // Klear acts on the POST but answers 503: the executor cannot know whether the wire exists.
    await world.simAdmin('PUT', '/faults', {
      rules: [{ kind: 'status', endpoint: '/margin/withdraw_settlement_balance', status: 503, phase: 'after', times: 1 }],
    });
    expect(await world.executor().runOnce()).toMatchObject({ outcomeUnknown: 1 });
    await world.simAdmin('PUT', '/faults', { rules: [] });
    expect((await world.get(id)).state).toBe('outcome_unknown');
    await send();
    const unknown = mailsAbout(before, 'Withdrawal outcome UNKNOWN', id);
    expect(recipients(unknown)).toEqual(OUTCOME_AUDIENCE);
    expect(unknown[0].subject).toBe(
      '[Klear SCM] Withdrawal outcome UNKNOWN: Outcome UNKNOWN (nothing is re-sent until resolved): $900.00 (requested by test-operator)',
    );
    expect(unknown[0].text).toContain('State: outcome_unknown');
    expectPlainMessage(unknown[0].text, id);
    expect(mailbox.messages.slice(before).filter((m) => m.text.includes(`Withdrawal: ${id}`))).toHaveLength(4);
    expect((await send()).delivered).toBe(0);
  });
});
