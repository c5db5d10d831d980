import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '@app/clock';
import { formatUsdExact } from '@app/money';
import { NotificationSender, OperationsWatch } from '@app/notifications';
import { type Mailbox, startMailbox } from '@apps/demo';
import { SimulatedReconWorld, type LedgerFeed } from '../reconciliation/simulated-recon-world';

const CONSOLE = 'https://console.example.test/ops';
const MIN_CENTICENTS = 2n; // a break of one centicent is below it
const DIGEST_AGE_HOURS = 48;
/** Breaks are for operators and admins; the viewer and the approver (both with an address) hear nothing. */
const BREAK_AUDIENCE = ['admin@ops.test', 'operator@ops.test'];

interface BreakRow {
  break_id: string;
  check: string;
  subtrader_id: string | null;
  reason_code: string;
  difference_centicents: string;
  status: string;
}

const abs = (v: bigint) => (v < 0n ? -v : v);

/**
 * Reconciliation breaks reach people: a run that opens breaks above NOTIFY_BREAK_MIN_CENTICENTS writes
 * one `break.opened` per break in its own transaction, and breaks left open longer than
 * NOTIFY_BREAK_DIGEST_AGE_HOURS are summed up once a day (`breaks.digest`). Real SMTP on loopback;
 * the product's clock moves only when the test says.
 */
describe('break notifications: new breaks above the amount, the daily digest of old ones', () => {
  let fixture: SimulatedReconWorld;
  let mailbox: Mailbox;
  let feed: LedgerFeed;
  let cycle: string;
  let runId: string;
  let breaks: BreakRow[];
  const clock = new ManualClock(Date.now());
  const send = () => fixture.api.app.get(NotificationSender, { strict: false }).runOnce();
  const watch = () => fixture.api.app.get(OperationsWatch, { strict: false });
  const as = (role: 'operator' | 'viewer' | 'approver' | 'admin') => `Bearer ${fixture.api.tokens[role]}`;
  const recipients = (mails: Array<{ to: string[] }>) => [...new Set(mails.map((m) => m.to.join(',')))].sort();

  beforeAll(async () => {
    mailbox = await startMailbox();
    fixture = await SimulatedReconWorld.start(
      { seed: 31, subtraders: 6, markets: 4, days: 1 },
      {
        env: {
          NOTIFY_SMTP_URL: mailbox.smtpUrl,
          NOTIFY_CONSOLE_URL: CONSOLE,
          NOTIFY_BREAK_MIN_CENTICENTS: MIN_CENTICENTS.toString(),
          NOTIFY_BREAK_DIGEST_AGE_HOURS: String(DIGEST_AGE_HOURS),
        },
        app: { clock },
      },
    );
    for (const role of ['operator', 'viewer', 'approver', 'admin'] as const) {
      const res = await fixture.api
        .http()
        .put('/notifications/preferences/me')
        .set('authorization', as(role))
        .send({ email: `${role}@ops.test` });
      expect(res.status).toBe(200);
    }
    await fixture.ingestKlear();
    feed = await fixture.feed({
      discrepancies: [{ kind: 'pnl_off_by_one' }, { kind: 'missing_fee' }, { kind: 'wrong_margin' }, { kind: 'extra_market_row' }],
    });
    cycle = feed.answer_key.discrepancies[0].cycle;
    await fixture.postLedger(feed.entries);
  });

  afterAll(async () => {
    await fixture?.close();
    await mailbox?.close();
  });

  it('a run that opens breaks tells operators and admins once per break at or above the amount, with the amount, the subtrader and the link', async () => {
    await send();
    const before = mailbox.messages.length;
    const res = await fixture.api.http().post('/reconciliations').set('authorization', as('operator')).send({ cycle });
    expect(res.status).toBe(201);
    runId = res.body.id;
    breaks = (await fixture.api.http().get(`/reconciliations/${runId}/breaks?limit=500`).set('authorization', as('viewer'))).body.data;
    expect(breaks.length).toBe(feed.answer_key.breaks.filter((b) => b.cycle === cycle).length);
    const above = breaks.filter((b) => abs(BigInt(b.difference_centicents)) >= MIN_CENTICENTS);
    const below = breaks.filter((b) => abs(BigInt(b.difference_centicents)) < MIN_CENTICENTS);
    // The feed has both: the one-centicent P&L difference is below the amount.
    expect(above.length).toBeGreaterThanOrEqual(3);
    expect(below.map((b) => b.difference_centicents)).toEqual(['-1']);

    expect((await send()).failed).toBe(0);
    const mails = mailbox.messages.slice(before).filter((m) => m.subject.startsWith('[Klear SCM] New reconciliation break: '));
    expect(recipients(mails)).toEqual(BREAK_AUDIENCE);
    for (const address of BREAK_AUDIENCE) {
      const theirs = mails.filter((m) => m.to.includes(address));
      // One mail per break above the amount, naming it; none for the one below.
      expect(theirs.map((m) => /^Break: (\d+)$/m.exec(m.text)?.[1]).sort()).toEqual(above.map((b) => b.break_id).sort());
    }
    for (const b of above) {
      const mail = mails.find((m) => m.to.includes('operator@ops.test') && m.text.includes(`Break: ${b.break_id}\n`))!;
      const difference = BigInt(b.difference_centicents);
      expect(mail.subject).toBe(
        `[Klear SCM] New reconciliation break: ${b.check} break of ${formatUsdExact(abs(difference))}${b.subtrader_id ? ` (${b.subtrader_id})` : ''}`,
      );
      expect(mail.text).toContain(
        `Check: ${b.check}\nReason: ${b.reason_code}\nDifference: ${formatUsdExact(difference)}\nSubtrader: ${b.subtrader_id ?? '-'}`,
      );
      expect(mail.text).toContain(`Open in the console: ${CONSOLE}/breaks/${b.break_id}`);
    }
    expect(mailbox.for('viewer@ops.test')).toHaveLength(0);
    expect(mailbox.for('approver@ops.test')).toHaveLength(0);
    expect((await send()).delivered).toBe(0);
  });

  it('a second run that finds the same breaks still open announces nothing new', async () => {
    const before = mailbox.messages.length;
    const again = await fixture.api.http().post('/reconciliations').set('authorization', as('operator')).send({ cycle });
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(runId);
    await send();
    expect(mailbox.messages.slice(before)).toHaveLength(0);
  });

  it('breaks open longer than the digest age are summed up once a day to operators and admins; resolved ones are left out', async () => {
    // Nothing is old enough yet.
    expect(await watch().breaksDigest()).toBe(0);
    const resolvedOne = breaks.find((b) => b.check === 'maintenance_margin') ?? breaks[0];
    const resolved = await fixture.api
      .http()
      .post(`/breaks/${resolvedOne.break_id}/resolve`)
      .set('authorization', as('operator'))
      .send({ reason: 'klear_error', reference: 'KLEAR-77' });
    expect(resolved.status).toBe(200);
    const stillOpen = breaks.filter((b) => b.break_id !== resolvedOne.break_id);

    clock.advance((DIGEST_AGE_HOURS + 1) * 3_600_000);
    expect(await watch().breaksDigest()).toBe(stillOpen.length);
    expect(await watch().breaksDigest()).toBe(stillOpen.length); // the same day: no second digest written
    const before = mailbox.messages.length;
    await send();
    const digests = mailbox.messages.slice(before);
    expect(digests.map((m) => m.to.join(',')).sort()).toEqual(BREAK_AUDIENCE);
    const [digest] = digests;
    expect(digest.subject).toBe(
      `[Klear SCM] Reconciliation breaks still open: ${stillOpen.length} break(s) open for more than ${DIGEST_AGE_HOURS} h`,
    );
    // One line per check: how many, and the sum of their absolute differences.
    const checks = [...new Set(stillOpen.map((b) => b.check))].sort();
    for (const check of checks) {
      const ofCheck = stillOpen.filter((b) => b.check === check);
      const total = ofCheck.reduce((sum, b) => sum + abs(BigInt(b.difference_centicents)), 0n);
      expect(digest.text).toMatch(
        new RegExp(
          `^${check}: ${ofCheck.length} open, oldest since \\S+, ${formatUsdExact(total).replace(/[$.]/g, '\\$&')} in absolute differences$`,
          'm',
        ),
      );
    }
    expect(digest.text).toContain(`Open in the console: ${CONSOLE}/breaks?status=open`);

    // The next day's digest is a new one.
    clock.advance(24 * 3_600_000);
    expect(await watch().breaksDigest()).toBe(stillOpen.length);
    const nextDay = mailbox.messages.length;
    await send();
    expect(
      mailbox.messages
        .slice(nextDay)
        .map((m) => m.to.join(','))
        .sort(),
    ).toEqual(BREAK_AUDIENCE);
  });
});
