import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { newKey, putPolicy, startWithdrawalWorld, USD, type WithdrawalWorld } from './withdrawal-world';

let w: WithdrawalWorld;
beforeAll(async () => {
  w = await startWithdrawalWorld();
  // The policy is seeded at first read; read it now so later row counts only see requests.
  await w.api.http().get('/withdrawal-policy').set('Authorization', `Bearer ${w.api.tokens.viewer}`);
});
afterAll(async () => w?.close());

const TABLES = ['withdrawal_request', 'withdrawal_state_change', 'withdrawal_approval', 'audit_log'];
const counts = async () => Object.fromEntries(await Promise.all(TABLES.map(async (t) => [t, await w.api.db.count(t)] as const)));

const policy = (floor: bigint, cap = 10_000_000_000_000n) => ({
  tiers: [{ min_amount_centicents: '0', approvals_required: 1, roles_required: [] }],
  expiry_seconds: 3600,
  reserve_floor_centicents: floor.toString(),
  cap_centicents: cap.toString(),
});

const usdOf = (centicents: bigint) => `${centicents / USD}.${((centicents % USD) / 100n).toString().padStart(2, '0')}`;

describe('bad input', () => {
  const malformed: Array<[string, unknown]> = [
    ['an exponent', '1e6'],
    ['a negative amount', '-5.00'],
    ['three decimals', '0.001'],
    ['a thousands separator', '1,000.00'],
    ['an empty string', ''],
    ['zero', '0.00'],
    ['a JSON number', 250000],
    ['a JSON fraction', 2500.5],
    ['40 digits', '1'.repeat(40)],
    ['null', null],
    ['a dollar sign', '$5.00'],
  ];
  it.each(malformed)('refuses %s as amount with a 400 naming the field, and writes nothing', async (_label, amount) => {
    const before = await counts();
    const res = await w.request(amount);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'amount' })]));
    expect(await counts()).toEqual(before);
  });

  it('refuses unknown fields, a missing purpose, a missing Idempotency-Key and wrong roles, and writes nothing', async () => {
    const before = await counts();
    const extra = await w.api
      .http()
      .post('/withdrawals')
      .set('Authorization', `Bearer ${w.api.tokens.operator}`)
      .set('Idempotency-Key', newKey())
      .send({ amount: '5.00', purpose: 'x', destination: 'elsewhere' });
    expect({ status: extra.status, details: extra.body.details }).toEqual({
      status: 400,
      details: [{ field: 'destination', problems: ['unknown field'] }],
    });
    const noPurpose = await w.api
      .http()
      .post('/withdrawals')
      .set('Authorization', `Bearer ${w.api.tokens.operator}`)
      .set('Idempotency-Key', newKey())
      .send({ amount: '5.00' });
    expect(noPurpose.status).toBe(400);
    expect(noPurpose.body.details.map((d: { field: string }) => d.field)).toEqual(['purpose']);
    const noKey = await w.request('5.00', { key: '' });
    expect({ status: noKey.status, field: noKey.body.details?.[0]?.field }).toEqual({ status: 400, field: 'Idempotency-Key' });
    for (const role of ['viewer', 'approver', 'admin'] as const) {
      const res = await w.request('5.00', { token: w.api.tokens[role] });
      expect({ role, status: res.status, code: res.body.code }).toEqual({ role, status: 403, code: 'FORBIDDEN' });
    }
    expect(await counts()).toEqual(before);
  });

  it('refuses an amount above the policy cap with 422 and the cap in the details', async () => {
    await putPolicy(w, policy(0n, 1_000_000n * USD));
    const before = await counts();
    const res = await w.request('1000000.01');
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({
      code: 'WITHDRAWAL_ABOVE_CAP',
      details: { amount_centicents: '10000000100', cap_centicents: '10000000000' },
    });
    expect(await counts()).toEqual(before);
    await putPolicy(w, policy(0n));
  });
});

describe('idempotency', () => {
  it('answers the same request for the same key and body, and 409 for the same key with another body', async () => {
    const key = newKey('idem');
    const first = await w.request('1234.56', { key });
    expect(first.status).toBe(201);
    const before = await counts();
    const replay = await w.request('1234.56', { key });
    expect(replay.status).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
    const other = await w.request('1234.57', { key });
    expect({ status: other.status, code: other.body.code, id: other.body.details?.withdrawal_id }).toEqual({
      status: 409,
      code: 'IDEMPOTENCY_KEY_REUSED',
      id: first.body.id,
    });
    const otherPurpose = await w.request('1234.56', { key, purpose: 'something else' });
    expect(otherPurpose.status).toBe(409);
    expect(await counts()).toEqual(before);
  });

  it('creates exactly one request when ten identical requests race on one key', async () => {
    const key = newKey('race');
    const answers = await Promise.all(Array.from({ length: 10 }, () => w.request('77.00', { key })));
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    const rows = (await w.api.db.dataSource.query('SELECT count(*)::int AS n FROM withdrawal_request WHERE idempotency_key = $1', [
      key,
    ])) as Array<{ n: number }>;
    expect(rows[0].n).toBe(1);
  });

  it('scopes keys per requester: another operator may use the same key', async () => {
    const key = newKey('scoped');
    const mine = await w.request('10.00', { key });
    const theirs = await w.request('10.00', { key, token: w.people.operator2 });
    expect([mine.status, theirs.status]).toEqual([201, 201]);
    expect(theirs.body.id).not.toBe(mine.body.id);
  });
});

describe('headroom', () => {
  it('passes at exactly the headroom and fails one centicent over, showing every figure of the sum', async () => {
    await putPolicy(w, policy(0n));
    const probe = await w.request('900000000.00');
    expect(probe.status).toBe(422);
    const raw = BigInt(probe.body.details.headroom_centicents);
    // A floor that leaves a whole-cent headroom T: the amount T is then exactly at the boundary.
    const target = (raw / 1_000_000n) * 1_000_000n - 1_000_000n;
    expect(target > 0n).toBe(true);
    const floor = BigInt(probe.body.details.reserve_floor_centicents) + (raw - target);
    await putPolicy(w, policy(floor));
    const exact = await w.request(usdOf(target));
    expect(exact.status).toBe(201);
    expect(exact.body.headroom_at_request).toMatchObject({
      headroom_centicents: target.toString(),
      shortfall_centicents: '0',
      reserve_floor_centicents: floor.toString(),
    });

    await putPolicy(w, policy(floor + 1n));
    const before = await counts();
    const over = await w.request(usdOf(target));
    expect(over.status).toBe(422);
    expect(over.body.code).toBe('WITHDRAWAL_INSUFFICIENT_HEADROOM');
    const d = over.body.details;
    expect(d).toMatchObject({
      amount_centicents: target.toString(),
      headroom_centicents: (target - 1n).toString(),
      shortfall_centicents: '1',
      reserve_floor_centicents: (floor + 1n).toString(),
    });
    const n = (k: string) => BigInt(d[k]);
    expect(n('reserve_centicents')).toBe(
      n('reserve_active_obligation_payable_centicents') + n('reserve_estimate_payable_centicents') + n('reserve_floor_centicents'),
    );
    expect(n('headroom_centicents')).toBe(n('available_centicents') - n('not_yet_locked_withdrawals_centicents') - n('reserve_centicents'));
    expect(await counts()).toEqual(before);
  });

  it('counts approved withdrawals not yet locked at Klear against the next request', async () => {
    await putPolicy(w, policy(0n));
    const probe = await w.request('900000000.00');
    const headroom = BigInt(probe.body.details.headroom_centicents);
    // Half the headroom rounded UP to whole cents: two halves (plus a cent) always exceed it, whatever its last digits.
    const half = ((headroom / 2n + 99n) / 100n) * 100n;
    const first = await w.request(usdOf(half));
    expect(first.status).toBe(201);
    const alsoHalf = await w.request(usdOf(half));
    expect(alsoHalf.status).toBe(201); // pending requests do not reserve anything
    await w.approve(first.body.id, w.api.tokens.approver);
    const third = await w.request(usdOf(half + 100n));
    expect(third.status).toBe(422);
    expect(third.body.details.not_yet_locked_withdrawals_centicents).toBe(half.toString());
    expect(third.body.details.not_yet_locked_withdrawal_ids).toEqual([first.body.id]);
    await w.cancel(first.body.id, w.api.tokens.operator);
  });

  it('reads the balance from Klear when the last snapshot is older than the maximum age, and stores it', async () => {
    await putPolicy(w, policy(0n));
    const real = await w.request('900000000.00');
    const realAvailable = real.body.details.available_centicents as string;
    const [{ archive }] = (await w.api.db.dataSource.query('SELECT max(id)::text AS archive FROM klear_response_archive')) as Array<{
      archive: string;
    }>;
    const insertSnapshot = (ageSeconds: number) =>
      w.api.db.dataSource.query(
        `INSERT INTO klear_balance_snapshot (pulled_at, user_id, available_centicents, locked_centicents, archive_id)
         VALUES (now() - make_interval(secs => $1), 'sim-admin-user', 99000000000000, 0, $2)`,
        [ageSeconds, archive],
      );
    // Ten minutes pass; the newest snapshot is then a stale one that would wrongly allow $900M.
    await w.api.db.dataSource.query(`UPDATE klear_balance_snapshot SET pulled_at = pulled_at - interval '10 minutes'`);
    await insertSnapshot(120);
    const snapshotsBefore = await w.api.db.count('klear_balance_snapshot');
    const stale = await w.request('900000000.00');
    expect(stale.status).toBe(422);
    expect(stale.body.details).toMatchObject({ balance_source: 'klear', available_centicents: realAvailable });
    expect(await w.api.db.count('klear_balance_snapshot')).toBe(snapshotsBefore + 1);
    // A fresh one is used as it is (no Klear read): proof that the refresh above was about age.
    await insertSnapshot(0);
    const fresh = await w.request('900000000.00');
    expect(fresh.status).toBe(201);
    expect(fresh.body.headroom_at_request).toMatchObject({ balance_source: 'snapshot', available_centicents: '99000000000000' });
    await w.cancel(fresh.body.id, w.api.tokens.operator);
  });

  it('refuses with 503 KLEAR_UNAVAILABLE, and creates nothing, when the balance must be refreshed and Klear cannot be read', async () => {
    await putPolicy(w, policy(0n));
    // Every snapshot is older than the maximum age: the request must read Klear, and Klear answers 500 (every retry too).
    await w.api.db.dataSource.query(`UPDATE klear_balance_snapshot SET pulled_at = pulled_at - interval '1 hour'`);
    await w.simAdmin('PUT', '/faults', { rules: [{ kind: 'status', endpoint: '/margin/settlement_balance', status: 500, times: 1000 }] });
    try {
      const before = await counts();
      const snapshotsBefore = await w.api.db.count('klear_balance_snapshot');
      const res = await w.request('1.00');
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 503, code: 'KLEAR_UNAVAILABLE' });
      // Klear's reason rides along: its 500, or the client's circuit opened by the retries of those 500s.
      expect(res.body.message).toMatch(
        /could not be refreshed from Klear \(Klear GET \/margin\/settlement_balance (answered 500|not sent: the circuit is open after consecutive Klear failures)/,
      );
      expect(await counts()).toEqual(before);
      expect(await w.api.db.count('klear_balance_snapshot')).toBe(snapshotsBefore);
    } finally {
      await w.simAdmin('DELETE', '/faults');
    }
  });

  it('keeps the audit chain intact', async () => {
    const res = await w.api.http().get('/audit?limit=1').set('Authorization', `Bearer ${w.api.tokens.viewer}`);
    expect(res.body.chain).toMatchObject({ ok: true });
  });
});
