import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buffer, ReconWorld, trade } from '../reconciliation/recon-world';
import { Clock } from '@app/clock';
import { totpCode } from '@app/auth';
import type { ApiWorld } from '../support/api-world';
import { softwarePasskeyRegistration } from '../support/software-passkey';
import { type OpenApiDocument, operationsOf, schemaFindings, successSchema } from '../support/openapi-responses';
import { newKey, startWithdrawalWorld, USD, usdOf, type WithdrawalWorld } from '../withdrawals/withdrawal-world';

/**
 * Issue 22: every route documents its answer in /docs-json (a schema from the response DTOs the code
 * returns), and no answer carries a field its schema does not declare. The routes below still answer
 * without a schema: this list only shrinks (a route that gains one must leave it, a new route must
 * come with one).
 */
export const ROUTES_WITHOUT_RESPONSE_SCHEMA: string[] = [];

const CYCLES = ['2026-11-03T22:00:00Z', '2026-11-04T22:00:00Z', '2026-11-05T22:00:00Z'];
const et = (date: string, hhmm: string) => new Date(`${date}T${hhmm}:00-05:00`).toISOString();
const ROLES = ['viewer', 'operator', 'approver', 'admin'] as const;
type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'UPLOAD';
/** Whose API is called (default: the reconciliation world's), with which bearer tokens tried in order until one is not 403 (default: viewer, operator, approver, admin), and extra headers. */
interface Call {
  api?: ApiWorld;
  /** Bearer tokens; an empty string sends none (a public route, or a console session's cookie in `headers`). */
  as?: string[];
  headers?: Record<string, string>;
  /** The status expected when the route documents more than one success (default: its first). */
  status?: number;
}

describe('/docs-json documents every answer, and the answers hold to it', () => {
  let world: ReconWorld;
  /** The withdrawal routes need Klear: the API beside an in-process simulator. */
  let wd: WithdrawalWorld;
  let doc: OpenApiDocument;
  const checked = new Set<string>();
  /** The headers of the last answer held to its schema (a sign-in's cookie). */
  let lastHeaders: Record<string, unknown> = {};

  /** The answer of `method path` against the schema /docs-json gives `route`; every finding fails. */
  async function answerHolds(
    route: string,
    method: Method,
    path: string,
    body?: object | Buffer,
    call: Call = {},
  ): Promise<Record<string, unknown>> {
    const op = operationsOf(doc).find((o) => `${o.method} ${o.path}` === route)!;
    const documented = op && successSchema(op);
    expect({ route, documented: documented !== undefined }).toEqual({ route, documented: true });
    let res;
    const api = call.api ?? world.api;
    for (const token of call.as ?? ROLES.map((role) => api.tokens[role])) {
      const http = api.http();
      const req =
        method === 'GET' || method === 'DELETE'
          ? http[method === 'GET' ? 'get' : 'delete'](path)
          : method === 'UPLOAD'
            ? http.post(path).attach('file', body as Buffer, 'entries.csv')
            : http[method.toLowerCase() as 'post' | 'put' | 'patch'](path).send(body ?? {});
      for (const [name, value] of Object.entries(call.headers ?? {})) req.set(name, value);
      res = await (token ? req.set('authorization', `Bearer ${token}`) : req);
      if (res.status !== 403) break;
    }
    const status = call.status ?? Number(documented!.status);
    if (res!.status !== status) expect({ route, path, status: res!.status, body: res!.body }).toEqual({ route, path, status });
    expect({ route, path, findings: schemaFindings(doc, documented!.schema!, res!.body) }).toEqual({ route, path, findings: [] });
    checked.add(route);
    lastHeaders = res!.headers;
    return res!.body as Record<string, unknown>;
  }

  beforeAll(async () => {
    world = await ReconWorld.start();
    doc = (await world.api.http().get('/docs-json')).body as OpenApiDocument;
    for (const [i, cycle] of CYCLES.entries()) {
      await world.obligation({
        cycle,
        details: [{ subtrader: 'S1', market: 'M1', pnl: 1_000n, fees: 10n, id: `sd-${i + 1}` }],
        margins: [{ subtrader: 'S1', requirement: 500n }],
      });
      await world.post([trade(`t/${i + 1}/S1`, cycle, 'S1', [{ market: 'M1', pnl: i === 0 ? 990n : 1_000n, fees: 10n }])]);
    }
    await world.balance([
      { ref: 'RCPT-1', at: et('2026-11-03', '10:00'), delta: 5_000n, reason: 'receipt' },
      { ref: 'SETTLE-1', at: et('2026-11-03', '18:00'), delta: 490n, reason: 'settlement_receipt' },
    ]);
    await world.post([buffer('buf-settle-1', et('2026-11-03', '18:00'), 490n, { reference: 'SETTLE-1' })]);
    for (const cycle of CYCLES) await world.run(cycle);
    wd = await startWithdrawalWorld();
  });
  afterAll(async () => {
    await wd?.close();
    await world?.close();
  });

  it('every route documents a response schema, except the listed ones still to do', () => {
    const missing = operationsOf(doc)
      .filter((op) => successSchema(op) === undefined)
      .map((op) => `${op.method} ${op.path}`)
      .sort();
    expect(missing).toEqual([...ROUTES_WITHOUT_RESPONSE_SCHEMA].sort());
    // The check itself: a field the schema does not declare is a finding.
    const breakList = successSchema(operationsOf(doc).find((o) => o.method === 'GET' && o.path === '/breaks')!)!.schema!;
    expect(schemaFindings(doc, breakList, { data: [], next_cursor: null, extra: 1 })).toEqual([
      '$.extra: answered but not declared by the schema',
    ]);
  });

  it('the breaks and reconciliation routes answer only fields their schemas declare', async () => {
    const breaks = (await answerHolds('GET /breaks', 'GET', '/breaks?limit=500')).data as Array<{
      id: string;
      key: string;
      check: string;
      difference_centicents: string;
    }>;
    expect(breaks.some((b) => b.key.endsWith('/running_balance'))).toBe(true);
    for (const b of breaks) await answerHolds('GET /breaks/{id}', 'GET', `/breaks/${b.id}`);
    const detail = breaks.find((b) => b.check === 'settlement_details')!;
    await answerHolds('POST /breaks/{id}/acknowledge', 'POST', `/breaks/${detail.id}/acknowledge`, { note: 'looking' });
    await answerHolds('POST /breaks/{id}/comments', 'POST', `/breaks/${detail.id}/comments`, { body: 'asked treasury' });
    await answerHolds('POST /breaks/{id}/assign', 'POST', `/breaks/${detail.id}/assign`, { assignee: 'test-operator' });
    await answerHolds('POST /breaks/{id}/resolve', 'POST', `/breaks/${detail.id}/resolve`, {
      reason: 'write_off',
      difference_centicents: detail.difference_centicents,
      note: 'rounding',
    });
    const signed = await answerHolds('POST /breaks/{id}/cosign', 'POST', `/breaks/${detail.id}/cosign`, {
      difference_centicents: detail.difference_centicents,
    });
    expect(signed.resolution).toMatchObject({ reason: 'write_off', cosigned_by: 'test-approver' });

    const runs = (await answerHolds('GET /reconciliations', 'GET', '/reconciliations')).data as Array<{ id: string }>;
    for (const r of runs) {
      await answerHolds('GET /reconciliations/{id}', 'GET', `/reconciliations/${r.id}`);
      await answerHolds('GET /reconciliations/{id}/breaks', 'GET', `/reconciliations/${r.id}/breaks`);
    }
    await answerHolds('GET /reconciliations/{id}/compare/{otherId}', 'GET', `/reconciliations/${runs[0].id}/compare/${runs[1].id}`);
    await answerHolds('POST /reconciliations', 'POST', '/reconciliations', { cycle: CYCLES[0] });
  });

  it('the obligation routes answer only fields their schemas declare', async () => {
    await answerHolds('GET /obligations/active', 'GET', '/obligations/active');
    const obligations = (await answerHolds('GET /obligations', 'GET', '/obligations')).data as Array<{ id: string; paid: boolean }>;
    expect(obligations.length).toBe(CYCLES.length);
    expect(obligations.find((o) => o.id === `obl-${CYCLES[0]}`)).toMatchObject({
      paid: true,
      buffer_movement: { business_transaction_id: 'SETTLE-1', matched_by: 'amount' },
    });
    for (const o of obligations) {
      await answerHolds('GET /obligations/{id}', 'GET', `/obligations/${encodeURIComponent(o.id)}`);
      await answerHolds('GET /obligations/{id}/details', 'GET', `/obligations/${encodeURIComponent(o.id)}/details`);
    }
  });

  it('the settlement, headroom and jobs routes answer only fields their schemas declare', async () => {
    // A balance, an active obligation and an estimate as fresh as the API's clock, so that GET /headroom needs no Klear.
    const now = new Date();
    await world.sql(
      `INSERT INTO klear_balance_snapshot (pulled_at, user_id, available_centicents, locked_centicents, archive_id) VALUES ($1, 'member', 100000000, 0, 0)`,
      [now],
    );
    await world.sql(`INSERT INTO klear_active_obligation_pull (pulled_at, obligation_id, archive_id) VALUES ($1, $2, 0)`, [
      now,
      `obl-${CYCLES[2]}`,
    ]);
    await world.estimate(
      now.toISOString(),
      { variationMargin: -1_000n, fees: 10n },
      { S1: { variationMargin: -1_000n, fees: 10n } },
      '2026-11-06T22:00:00Z',
    );
    const estimate = await answerHolds('GET /settlement/estimate', 'GET', '/settlement/estimate');
    expect(estimate.next_runtime).toBe('2026-11-06T22:00:00.000Z');
    await answerHolds('GET /settlement/balance', 'GET', '/settlement/balance');
    const movements = (await answerHolds('GET /settlement/balance/history', 'GET', '/settlement/balance/history')).data as unknown[];
    expect(movements.length).toBe(2);
    const headroom = await answerHolds('GET /headroom', 'GET', '/headroom');
    expect(headroom.figures).toMatchObject({ available_centicents: '100000000' });
    const run = await answerHolds('POST /jobs/{name}/run', 'POST', '/jobs/audit_chain_check/run?wait=true');
    expect(run).toMatchObject({ outcome: 'finished', run: { status: 'succeeded' } });
    const jobs = (await answerHolds('GET /jobs', 'GET', '/jobs')).data as Array<{ name: string }>;
    for (const job of jobs) await answerHolds('GET /jobs/{name}/runs', 'GET', `/jobs/${job.name}/runs`);
  });

  it('the ledger routes answer only fields their schemas declare', async () => {
    await answerHolds('POST /ledger/entries', 'POST', '/ledger/entries', {
      entries: [buffer('buf-schema-1', et('2026-11-06', '09:00'), 1n, { reference: 'SCHEMA-1' })],
    });
    const csv = [
      'external_id,entry_type,effective_at,business_reference,account,amount_centicents',
      'buf-schema-2,buffer_movement,2026-11-06T09:00:00-05:00,SCHEMA-2,settlement_buffer,5',
      'buf-schema-2,buffer_movement,2026-11-06T09:00:00-05:00,SCHEMA-2,bank,-5',
      'buf-schema-3,buffer_movement,2026-11-06T09:00:00-05:00,SCHEMA-3,settlement_buffer,1.5',
      'buf-schema-3,buffer_movement,2026-11-06T09:00:00-05:00,SCHEMA-3,bank,-1.5',
    ].join('\n');
    const imported = await answerHolds('POST /ledger/imports', 'UPLOAD', '/ledger/imports?partial=true', Buffer.from(csv));
    expect(imported).toMatchObject({ status: 'partially_imported', created: 1, rejected_entries: 1 });
    const imports = (await answerHolds('GET /ledger/imports', 'GET', '/ledger/imports')).data as Array<{ import_id: string }>;
    await answerHolds('GET /ledger/imports/{id}', 'GET', `/ledger/imports/${imports[0].import_id}`);
    const rejections = await world.api
      .http()
      .get(`/ledger/imports/${imports[0].import_id}/rejections`)
      .set('authorization', world.as('viewer'));
    expect({ status: rejections.status, type: rejections.type }).toEqual({ status: 200, type: 'text/csv' });
    checked.add('GET /ledger/imports/{id}/rejections');
  });

  it('the health, positions and workbook-list routes answer only fields their schemas declare', async () => {
    await answerHolds('GET /health/live', 'GET', '/health/live');
    await answerHolds('GET /health/ready', 'GET', '/health/ready');
    await world.sql(
      `INSERT INTO klear_guaranty_fund_snapshot (pulled_at, user_id, amount_centicents, updated_ts, archive_id) VALUES ($1, 'member', 500000000, $1, 0)`,
      [CYCLES[0]],
    );
    const [snapshot] = await world.sql<{ id: string }>(
      `INSERT INTO klear_large_trader_snapshot (pulled_at, user_id, report_date, archive_id) VALUES ($1, 'member', '2026-11-03', 0) RETURNING id::text`,
      [CYCLES[0]],
    );
    await world.sql(
      `INSERT INTO klear_large_trader_position (snapshot_id, market_ticker, position) VALUES ($1, 'M1', -1200), ($1, 'M2', 300)`,
      [snapshot.id],
    );
    expect(((await answerHolds('GET /guaranty-fund', 'GET', '/guaranty-fund')).data as unknown[]).length).toBe(1);
    expect(((await answerHolds('GET /large-trader-positions', 'GET', '/large-trader-positions')).positions as unknown[]).length).toBe(2);
    await answerHolds('GET /exports', 'GET', '/exports');
  });

  it('the subtrader, group, report, journal and health-details routes answer only fields their schemas declare', async () => {
    await world.sql(
      `INSERT INTO klear_subtrader_group_membership (group_id, subtrader_id, valid_from, valid_to, archive_id) VALUES ('G1', 'S1', $1, NULL, 0), ('G1', 'S2', $1, $2, 0)`,
      [CYCLES[0], CYCLES[1]],
    );
    await world.sql(
      `INSERT INTO klear_margin_report (report_type, report_date, created_ts, is_end_of_day, first_pulled_at, pulled_at, file_path, file_size, file_sha256, downloaded_at, archive_id)
       VALUES ('margin', '2026-11-03', $1, true, $1, $1, 'reports/2026-11-03-margin.csv', 12, repeat('a', 64), $1, 0), ('margin', '2026-11-04', $2, true, $2, $2, NULL, NULL, NULL, NULL, 0)`,
      [CYCLES[0], CYCLES[1]],
    );
    const subtraders = (await answerHolds('GET /subtraders', 'GET', '/subtraders')).data as Array<{
      subtrader_id: string;
      latest_obligation: unknown;
    }>;
    expect(subtraders.some((s) => s.latest_obligation !== null)).toBe(true);
    for (const s of subtraders) await answerHolds('GET /subtraders/{id}', 'GET', `/subtraders/${s.subtrader_id}`);
    const groups = (await answerHolds('GET /subtrader-groups', 'GET', '/subtrader-groups')).data as Array<{
      membership_history: unknown[];
    }>;
    expect(groups[0].membership_history).toHaveLength(2);
    expect(((await answerHolds('GET /reports', 'GET', '/reports')).data as unknown[]).length).toBe(2);
    expect(((await answerHolds('GET /ledger/entries', 'GET', '/ledger/entries?limit=200')).data as unknown[]).length).toBeGreaterThan(0);
    expect(await answerHolds('GET /health/details', 'GET', '/health/details')).toMatchObject({ checks: { database: { status: 'up' } } });
  });

  it('the audit routes answer only fields their schemas declare', async () => {
    const audit = await answerHolds('GET /audit', 'GET', '/audit?entity=break');
    expect((audit.data as unknown[]).length).toBeGreaterThan(0);
    await answerHolds('GET /audit/entities', 'GET', '/audit/entities');
  });

  it('the console chart series and the notification kinds answer only fields their schemas declare', async () => {
    const month = await answerHolds('GET /settlement/buffer-by-day', 'GET', '/settlement/buffer-by-day?days=3');
    expect(month.days).toHaveLength(3);
    const cycles = await answerHolds('GET /subtraders/{id}/cycles', 'GET', '/subtraders/S1/cycles');
    expect((cycles.cycles as unknown[]).length).toBe(CYCLES.length);
    await answerHolds('GET /notifications/kinds', 'GET', '/notifications/kinds');
  });

  it('the withdrawal and withdrawal-policy routes answer only fields their schemas declare', async () => {
    const on = { api: wd.api };
    const token = wd.api.tokens;
    const policy = await answerHolds('GET /withdrawal-policy', 'GET', '/withdrawal-policy', undefined, on);
    const tiers = (policy.tiers as Array<{ min_amount_centicents: string; approvals_required: number; roles_required: string[] }>).map(
      (t) => ({
        min_amount_centicents: t.min_amount_centicents,
        approvals_required: t.approvals_required,
        roles_required: t.roles_required,
      }),
    );
    const proposal = await answerHolds(
      'PUT /withdrawal-policy',
      'PUT',
      '/withdrawal-policy',
      { tiers, expiry_seconds: policy.expiry_seconds, reserve_floor_centicents: '0', cap_centicents: policy.cap_centicents },
      on,
    );
    expect(proposal).toMatchObject({ kind: 'withdrawal_policy.change', state: 'pending' });
    expect(
      (
        await wd.api
          .http()
          .post(`/admin-proposals/${proposal.id}/approve`)
          .set('authorization', `Bearer ${wd.people.adminApprover}`)
          .send({})
      ).status,
    ).toBe(200);

    const request = (amount: bigint, purpose: string) =>
      answerHolds(
        'POST /withdrawals',
        'POST',
        '/withdrawals',
        { amount: usdOf(amount), purpose },
        { ...on, headers: { 'Idempotency-Key': newKey('schema') } },
      );
    const approved = await request(120n * USD, 'monthly sweep to the operating account');
    expect(approved).toMatchObject({ state: 'pending_approval', amount_centicents: (120n * USD).toString(), amount_usd: '$120.0000' });
    await answerHolds('GET /withdrawals/pending', 'GET', '/withdrawals/pending', undefined, on);
    await answerHolds('GET /withdrawals/queue', 'GET', '/withdrawals/queue', undefined, on);
    // A passkey challenge needs an enrolled passkey: one, as enrolment stores it, for the third approver.
    await wd.api.db.dataSource.query(
      `INSERT INTO webauthn_credential (user_id, credential_id, public_key, counter, transports, created_at)
       SELECT id, 'cred-schema-1', '\\x01'::bytea, 0, '{}', now() FROM app_user WHERE name LIKE 'approver3-%'`,
    );
    await answerHolds(
      'POST /withdrawals/{id}/step-up',
      'POST',
      `/withdrawals/${approved.id}/step-up`,
      { action: 'approve' },
      { ...on, as: [wd.people.approver3] },
    );
    const outcome = await answerHolds(
      'POST /withdrawals/{id}/approve',
      'POST',
      `/withdrawals/${approved.id}/approve`,
      { comment: 'ok per treasury sweep plan' },
      on,
    );
    expect(outcome).toMatchObject({ counted: true, approvals_so_far: 1 });
    await answerHolds(
      'POST /withdrawals/{id}/revoke-approval',
      'POST',
      `/withdrawals/${approved.id}/revoke-approval`,
      { reason: 'amount to be checked again' },
      on,
    );
    // The second factor given with a decision, as the console's TOTP step-up stores it.
    await wd.api.db.dataSource.query(
      `INSERT INTO withdrawal_decision_step_up (request_id, round, approver_id, decision, method, request_version, amount_centicents, purpose, totp_step, created_at)
       SELECT id, approval_round, $2, 'approve', 'totp', version, amount_centicents, purpose, 59123456, created_at FROM withdrawal_request WHERE id = $1`,
      [approved.id, wd.api.userIds.approver],
    );
    const stepUps = await answerHolds('GET /withdrawals/{id}/step-ups', 'GET', `/withdrawals/${approved.id}/step-ups`, undefined, on);
    expect(stepUps.data).toHaveLength(1);

    const rejected = await request(130n * USD, 'sweep not in the plan');
    await answerHolds(
      'POST /withdrawals/{id}/reject',
      'POST',
      `/withdrawals/${rejected.id}/reject`,
      { reason: 'purpose does not match the treasury plan' },
      on,
    );
    const cancelled = await request(140n * USD, 'duplicate of an earlier sweep');
    await answerHolds('POST /withdrawals/{id}/cancel', 'POST', `/withdrawals/${cancelled.id}/cancel`, { reason: 'asked twice' }, on);

    // An approved request whose POST Klear acted on but answered 503: outcome_unknown, then settled by two people.
    const unknown = await wd.approvedRequest(150n * USD);
    await wd.simAdmin('PUT', '/faults', {
      rules: [{ kind: 'status', endpoint: '/margin/withdraw_settlement_balance', status: 503, phase: 'after', times: 1 }],
    });
    expect(await wd.executor().runOnce()).toMatchObject({ outcomeUnknown: 1 });
    await wd.simAdmin('PUT', '/faults', { rules: [] });
    const klearId = wd
      .simWithdrawals()
      .filter((x) => x.amount === 150n * USD)
      .at(-1)!.id;
    const proposeAs = { ...on, as: [token.approver] };
    await answerHolds(
      'POST /withdrawals/{id}/resolutions',
      'POST',
      `/withdrawals/${unknown}/resolutions`,
      { conclusion: 'not_submitted', reason: 'not in Klear history yet' },
      proposeAs,
    );
    await answerHolds(
      'POST /withdrawals/{id}/resolutions/reject',
      'POST',
      `/withdrawals/${unknown}/resolutions/reject`,
      { reason: 'Klear history shows it locked' },
      { ...on, as: [token.approver2] },
    );
    await answerHolds(
      'POST /withdrawals/{id}/resolutions',
      'POST',
      `/withdrawals/${unknown}/resolutions`,
      { conclusion: 'submitted', klear_withdrawal_id: klearId, reason: 'in Klear history as locked' },
      proposeAs,
    );
    const resolved = await answerHolds(
      'POST /withdrawals/{id}/resolutions/confirm',
      'POST',
      `/withdrawals/${unknown}/resolutions/confirm`,
      {},
      { ...on, as: [token.approver2] },
    );
    expect(resolved).toMatchObject({ state: 'submitted', klear_withdrawal_id: klearId, resolution: { state: 'confirmed' } });
    expect(
      (
        (await answerHolds('GET /withdrawals/{id}/resolutions', 'GET', `/withdrawals/${unknown}/resolutions`, undefined, on))
          .data as unknown[]
      ).length,
    ).toBe(2);

    const detail = await answerHolds('GET /withdrawals/{id}', 'GET', `/withdrawals/${unknown}`, undefined, on);
    expect({ attempts: (detail.attempts as unknown[]).length > 0, answers: (detail.klear_answers as unknown[]).length > 0 }).toEqual({
      attempts: true,
      answers: true,
    });
    await answerHolds('GET /withdrawals/{id}', 'GET', `/withdrawals/${approved.id}`, undefined, on);
    const list = await answerHolds('GET /withdrawals', 'GET', '/withdrawals', undefined, on);
    expect((list.data as Array<{ state: string }>).map((r) => r.state).sort()).toEqual([
      'cancelled',
      'pending_approval',
      'rejected',
      'submitted',
    ]);
  });

  it('the user, token, invitation, admin-proposal and session routes answer only fields their schemas declare', async () => {
    const admin = { as: [world.api.tokens.admin] };
    const secondAdmin = { as: [(await world.api.newUser('second-admin', ['admin'])).token] };
    expect(((await answerHolds('GET /users', 'GET', '/users')).data as unknown[]).length).toBeGreaterThan(0);
    const service = await answerHolds('POST /users', 'POST', '/users', { name: 'svc-reports', roles: ['viewer'], kind: 'service' });
    expect(service).toMatchObject({ kind: 'service', invitation: null, proposals: [] });
    const person = await answerHolds('POST /users', 'POST', '/users', { name: 'dana.ops', roles: ['operator'] });
    expect(person.invitation).toMatchObject({ redeemable: true });
    const proposed = await answerHolds('POST /users', 'POST', '/users', { name: 'sam.approver', roles: ['approver'] }, { status: 202 });
    expect(proposed).toMatchObject({ id: null, proposals: [{ kind: 'user.create', state: 'pending' }] });
    const granted = await answerHolds('PATCH /users/{id}', 'PATCH', `/users/${person.id}`, { roles: ['operator', 'approver'] });
    expect(granted.proposals).toMatchObject([{ kind: 'user.grant_roles', state: 'pending' }]);

    const proposals = (await answerHolds('GET /admin-proposals', 'GET', '/admin-proposals?state=pending')).data as Array<{
      id: string;
      kind: string;
    }>;
    await answerHolds('GET /admin-proposals/{id}', 'GET', `/admin-proposals/${proposals[0].id}`);
    const applied = await answerHolds(
      'POST /admin-proposals/{id}/approve',
      'POST',
      `/admin-proposals/${proposals.find((p) => p.kind === 'user.create')!.id}/approve`,
      { comment: 'known to treasury' },
      secondAdmin,
    );
    expect(applied).toMatchObject({ state: 'applied', effect: { name: 'sam.approver' } });
    await answerHolds(
      'POST /admin-proposals/{id}/reject',
      'POST',
      `/admin-proposals/${proposals.find((p) => p.kind === 'user.grant_roles')!.id}/reject`,
      { reason: 'operators do not approve' },
      secondAdmin,
    );

    const reinvited = await answerHolds('POST /users/{id}/invitations', 'POST', `/users/${person.id}/invitations`, {}, admin);
    const redeemed = await answerHolds(
      'POST /invitations/redeem',
      'POST',
      '/invitations/redeem',
      { code: reinvited.code, label: 'laptop', password: 'a long enough passphrase' },
      { as: [''] },
    );
    expect(redeemed).toMatchObject({ user: { name: 'dana.ops' }, console: { username: 'dana.ops' }, label: 'laptop' });
    const issued = await answerHolds('POST /users/{id}/tokens', 'POST', `/users/${service.id}/tokens`, { label: 'nightly report' }, admin);
    expect(typeof issued.token).toBe('string');
    await answerHolds('DELETE /tokens/{id}', 'DELETE', `/tokens/${issued.id}`, undefined, admin);
    await answerHolds('GET /me', 'GET', '/me');
    await answerHolds('POST /me/tokens', 'POST', '/me/tokens', { label: 'second laptop' });
    expect(((await answerHolds('GET /me/tokens', 'GET', '/me/tokens')).data as unknown[]).length).toBeGreaterThan(1);

    // The console: dana signs in with password and authenticator code; the session's cookie and CSRF token do the rest.
    const totp = totpCode((redeemed.console as { totp_secret: string }).totp_secret, world.api.app.get(Clock).nowMs());
    const signedIn = await answerHolds(
      'POST /session',
      'POST',
      '/session',
      { username: 'dana.ops', password: 'a long enough passphrase', totp },
      { as: [''] },
    );
    const cookie = (lastHeaders['set-cookie'] as unknown as string[]).find((c) => c.startsWith('klear_session='))!.split(';')[0];
    const session = { as: [''], headers: { cookie, 'x-csrf-token': signedIn.csrf_token as string } };
    expect(await answerHolds('GET /session', 'GET', '/session', undefined, session)).toMatchObject({
      user: { name: 'dana.ops' },
      passkeys: 0,
    });
    expect(await answerHolds('GET /session', 'GET', '/session')).toMatchObject({ csrf_token: null });
    // A passkey enrolled through the API (made in software, as the console's browser would make it); the console's origin is its Host.
    const onHost = { ...session, headers: { ...session.headers, host: 'localhost' } };
    const options = await answerHolds('POST /session/passkeys/options', 'POST', '/session/passkeys/options', {}, onHost);
    const registration = softwarePasskeyRegistration(options as { challenge: string; rp: { id?: string } }, 'http://localhost');
    expect(await answerHolds('POST /session/passkeys', 'POST', '/session/passkeys', { response: registration }, onHost)).toEqual({
      credential_id: registration.id,
      passkeys: 1,
    });
  });

  it('the notification preference and delivery-log routes answer only fields their schemas declare', async () => {
    const approver = world.api.userIds.approver;
    // One delivery that was tried once and waits for its retry, as the dispatcher leaves it.
    const [outbox] = await world.sql<{ id: string }>(
      `INSERT INTO notification_outbox (kind, subject_type, subject_id, payload, audience, created_at, fanned_out_at)
       VALUES ('withdrawal.approval_requested', 'withdrawal', '6f1c2d4e-0b8a-4d55-9a7e-2f3b5c7d9e01', '{}', '{}', $1, $1) RETURNING id`,
      ['2026-11-06T14:00:00Z'],
    );
    const [delivery] = await world.sql<{ id: string }>(
      `INSERT INTO notification_delivery (outbox_id, channel, recipient, user_id, address, status, attempts, next_attempt_at, created_at, last_error)
       VALUES ($1, 'email', 'user:' || $2, $2::uuid, 'approver@example.com', 'pending', 1, $3, $3, 'SMTP 451 try again later') RETURNING id`,
      [outbox.id, approver, '2026-11-06T14:00:01Z'],
    );
    await world.sql(
      `INSERT INTO notification_attempt (delivery_id, attempt, started_at, finished_at, outcome, detail) VALUES ($1, 1, $2, $2, 'retry', 'SMTP 451 try again later')`,
      [delivery.id, '2026-11-06T14:00:02Z'],
    );
    const log = await answerHolds('GET /notifications/deliveries', 'GET', '/notifications/deliveries');
    expect(log.data).toMatchObject([
      {
        id: delivery.id,
        kind: 'withdrawal.approval_requested',
        recipient_name: 'test-approver',
        attempt_log: [{ attempt: 1, outcome: 'retry' }],
      },
    ]);

    await answerHolds('GET /notifications/preferences/me', 'GET', '/notifications/preferences/me');
    const mine = await answerHolds('PUT /notifications/preferences/me', 'PUT', '/notifications/preferences/me', {
      email: 'viewer@example.com',
      events: { 'withdrawal.approval_requested': [] },
    });
    expect(mine).toMatchObject({ email: 'viewer@example.com', updated_by: 'test-viewer' });
    await answerHolds('PUT /notifications/preferences/{userId}', 'PUT', `/notifications/preferences/${approver}`, {
      email: 'approver@example.com',
      events: { 'withdrawal.approval_requested': ['email', 'slack'] },
    });
    expect(await answerHolds('GET /notifications/preferences/{userId}', 'GET', `/notifications/preferences/${approver}`)).toMatchObject({
      email: 'approver@example.com',
      updated_by: 'test-admin',
    });
  });

  it('every route that documents a schema was called and held to it', () => {
    // A workbook build needs a reconciled day's world, a margin report file its download: not called here
    // (test/exports and test/security/report-downloads.test.ts download them).
    const documented = operationsOf(doc)
      .filter(
        (op) =>
          successSchema(op)?.schema &&
          !['POST /exports', 'GET /exports/{id}/file', 'GET /reports/{id}/file'].includes(`${op.method} ${op.path}`),
      )
      .map((op) => `${op.method} ${op.path}`)
      .sort();
    expect([...checked].sort()).toEqual(documented);
  });
});
