import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { klearErrorSchema } from '@app/klear-contract';
import { SimulatorWorld } from './simulator-world';

describe('Klear simulator authentication', () => {
  let harness: SimulatorWorld;
  beforeAll(async () => {
    harness = await SimulatorWorld.start({
      adminUserId: 'member-7',
      accessToken: 'tok-7',
      email: 'ops@member.test',
      password: 'pw-7',
      mfaCode: '424242',
      sessionTtlSeconds: 1,
      // POST /log_in was removed upstream: served only in the labelled legacy mode.
      legacySessionLogin: true,
    });
  });
  afterAll(() => harness.close());

  const balance = (headers: Record<string, string>) => harness.request('GET', '/margin/settlement_balance', { headers, auth: false });

  it('accepts the configured bearer token and answers 401 for a missing or wrong one', async () => {
    expect((await balance({ authorization: 'Bearer member-7:tok-7' })).status).toBe(200);
    const missing = await balance({});
    expect(missing.status).toBe(401);
    expect(klearErrorSchema.parse(missing.json).code).toBe('unauthorized');
    expect((await balance({ authorization: 'Bearer member-7:wrong' })).status).toBe(401);
    expect((await balance({ authorization: 'Bearer member-7' })).status).toBe(401);
  });

  it('answers 403 for a valid user that is not a clearing member', async () => {
    const { nonMemberUserId, nonMemberAccessToken } = harness.sim.options;
    const answer = await balance({ authorization: `Bearer ${nonMemberUserId}:${nonMemberAccessToken}` });
    expect(answer.status).toBe(403);
    expect(klearErrorSchema.parse(answer.json).code).toBe('forbidden');
  });

  it('LEGACY mode: logs in with email, password and MFA code, and the session cookie expires after its TTL', async () => {
    const logIn = (body: unknown) => harness.request('POST', '/log_in', { body: JSON.stringify(body), auth: false });
    expect((await logIn({ email: 'ops@member.test', password: 'pw-7' })).status).toBe(401);
    expect((await logIn({ email: 'ops@member.test', password: 'nope', code: '424242' })).status).toBe(401);
    const ok = await logIn({ email: 'ops@member.test', password: 'pw-7', code: '424242' });
    expect(ok.status).toBe(200);
    const cookie = (ok.headers.get('set-cookie') ?? '').split(';')[0];
    expect(cookie).toMatch(/^klear_session=.+/);
    expect((await balance({ cookie })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const expired = await balance({ cookie });
    expect(expired.status).toBe(401);
    expect((await balance({ cookie: 'klear_session=forged' })).status).toBe(401);
  });
});

describe('Klear simulator parameter validation', () => {
  let harness: SimulatorWorld;
  beforeAll(async () => {
    harness = await SimulatorWorld.start({ seed: 5 });
  });
  afterAll(() => harness.close());

  const cases: [string, string][] = [
    ['a missing start_date', '/margin/reports?end_date=2026-11-19'],
    ['a missing end_date', '/margin/reports?start_date=2026-11-19'],
    ['a malformed date', '/margin/reports?start_date=2026-13-01&end_date=2026-11-19'],
    ['a reversed date range', '/margin/reports?start_date=2026-11-19&end_date=2026-11-01'],
    ['a limit over the maximum', '/margin/obligation_history?limit=101'],
    ['a zero limit', '/margin/obligation_history?limit=0'],
    ['a non-numeric limit', '/margin/settlement_balance_history?limit=ten'],
    ['a balance-history limit over 500', '/margin/settlement_balance_history?limit=501'],
    ['a malformed obligation cursor', '/margin/obligation_history?cursor=yesterday'],
    ['a malformed balance-history cursor', '/margin/settlement_balance_history?cursor=%21%21'],
    ['a missing withdrawal id', '/margin/settlement_balance_withdrawal'],
    ['an unknown withdrawal id', '/margin/settlement_balance_withdrawal?id=wd-unknown'],
    ['a malformed report_date', '/margin/large_trader_positions?report_date=20261119'],
  ];
  for (const [what, path] of cases) {
    it(`answers 400 with Klear's error shape for ${what}`, async () => {
      const answer = await harness.get(path);
      expect(answer.status).toBe(400);
      expect(klearErrorSchema.safeParse(answer.json).success).toBe(true);
    });
  }

  it('answers 400 for a non-positive, malformed or too precise withdrawal amount, and accepts a valid one', async () => {
    for (const amount of ['0', '0.00', '-5.00', '5.001', '1e3', 'abc', 500, null]) {
      const answer = await harness.post('/margin/withdraw_settlement_balance', { amount });
      expect({ amount, status: answer.status }).toEqual({ amount, status: 400 });
    }
    expect((await harness.post('/margin/withdraw_settlement_balance', { amount: '10.00' })).status).toBe(200);
  });

  it('answers 400 when the withdrawal exceeds the available balance', async () => {
    const answer = await harness.post('/margin/withdraw_settlement_balance', { amount: '99999999999.00' });
    expect(answer.status).toBe(400);
    expect(klearErrorSchema.parse(answer.json).code).toBe('insufficient_balance');
  });
});
