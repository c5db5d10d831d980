import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SimulatedReconWorld } from './simulated-recon-world';

/**
 * The breaks worklist as an analyst reads it (issue 22): numeric orders, the unresolved filter,
 * the acknowledgement note on the break, comments in the audit trail, real assignees.
 * No ledger is posted for the cycle, so every Klear row is a break (well over ten of them).
 */
describe('the breaks worklist', () => {
  let fixture: SimulatedReconWorld;
  let runId: string;
  const as = (role: 'operator' | 'approver' | 'viewer') => `Bearer ${fixture.api.tokens[role]}`;
  const http = () => fixture.api.http();

  type ListedBreak = { id: string; status: string; difference_centicents: string };
  const walk = async (query: string, limit = 4): Promise<ListedBreak[]> => {
    const all: ListedBreak[] = [];
    let cursor: string | null = null;
    do {
      const res: { status: number; body: { data: ListedBreak[]; next_cursor: string | null } } = await http()
        .get(`/breaks?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`)
        .set('authorization', as('viewer'));
      expect({ status: res.status, body: res.status === 200 ? null : res.body }).toEqual({ status: 200, body: null });
      all.push(...(res.body.data as ListedBreak[]));
      cursor = res.body.next_cursor;
    } while (cursor);
    return all;
  };
  const abs = (x: string) => (BigInt(x) < 0n ? -BigInt(x) : BigInt(x));

  beforeAll(async () => {
    fixture = await SimulatedReconWorld.start({ seed: 22, subtraders: 8, markets: 4, days: 1 });
    await fixture.ingestKlear();
    const cycles = await fixture.queries.ingestedCycles(new Date());
    const res = await http()
      .post('/reconciliations')
      .set('authorization', as('operator'))
      .send({ cycle: cycles[cycles.length - 1].cycle.toISOString() });
    expect(res.status).toBe(201);
    runId = res.body.id;
  });
  afterAll(() => fixture.close());

  it('lists breaks oldest first in numeric id order across pages (2 before 10), and by largest absolute difference on request', async () => {
    const byAge = await walk('sort=age');
    expect(byAge.length).toBeGreaterThan(10);
    const ids = byAge.map((b) => BigInt(b.id));
    expect(ids).toEqual([...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(new Set(ids).size).toBe(ids.length);
    expect((await walk('')).map((b) => b.id)).toEqual(byAge.map((b) => b.id));

    const byDifference = await walk('sort=difference', 3);
    expect(byDifference.map((b) => b.id).sort()).toEqual(byAge.map((b) => b.id).sort());
    for (let i = 1; i < byDifference.length; i++) {
      const [prev, cur] = [abs(byDifference[i - 1].difference_centicents), abs(byDifference[i].difference_centicents)];
      expect(prev > cur || (prev === cur && BigInt(byDifference[i - 1].id) < BigInt(byDifference[i].id))).toBe(true);
    }
    // numeric, not text: the first is the largest figure, whatever its number of digits
    const largest = byAge.map((b) => abs(b.difference_centicents)).reduce((a, b) => (a > b ? a : b));
    expect(abs(byDifference[0].difference_centicents)).toBe(largest);
    expect((await http().get('/breaks?sort=amount').set('authorization', as('viewer'))).status).toBe(400);
    expect(
      (
        await http()
          .get(`/breaks?sort=difference&cursor=${Buffer.from('["x",1]').toString('base64url')}`)
          .set('authorization', as('viewer'))
      ).status,
    ).toBe(400);
  });

  it('lists runs newest first in numeric order (11 and 10 before 2)', async () => {
    const cycles = await fixture.queries.ingestedCycles(new Date());
    for (let i = 0; i < 11; i++) {
      const res = await http()
        .post('/reconciliations')
        .set('authorization', as('operator'))
        .send({ cycle: cycles[cycles.length - 1].cycle.toISOString() });
      expect(res.status).toBe(201);
    }
    const runs = await http().get('/reconciliations?limit=500').set('authorization', as('viewer'));
    const ids = runs.body.data.map((r: { id: string }) => BigInt(r.id));
    expect(ids.length).toBeGreaterThanOrEqual(12);
    expect(ids).toEqual([...ids].sort((a: bigint, b: bigint) => (a > b ? -1 : a < b ? 1 : 0)));
  });

  it('keeps acknowledged and pending write-off breaks in ?status=unresolved, while ?status=open shows only the untouched ones', async () => {
    const [first, second, third] = await walk('status=open');
    await http()
      .post(`/breaks/${first.id}/acknowledge`)
      .set('authorization', as('operator'))
      .send({ note: 'looking at it with the desk' })
      .expect(200);
    const dual = await fixture.api.newUser('worklist-dual', ['operator', 'approver']);
    await http()
      .post(`/breaks/${second.id}/resolve`)
      .set('authorization', `Bearer ${dual.token}`)
      .send({ reason: 'write_off', difference_centicents: second.difference_centicents })
      .expect(200);
    await http()
      .post(`/breaks/${third.id}/resolve`)
      .set('authorization', as('operator'))
      .send({ reason: 'klear_error', reference: 'KLEAR-22' })
      .expect(200);

    const open = (await walk('status=open', 500)).map((b) => b.id);
    const unresolved = await walk('status=unresolved', 500);
    expect(open).not.toContain(first.id);
    expect(unresolved.map((b) => b.id)).toEqual(expect.arrayContaining([first.id, second.id, ...open]));
    expect(unresolved.map((b) => b.id)).not.toContain(third.id);
    expect(unresolved).toHaveLength(open.length + 2);
    expect(new Set(unresolved.map((b) => b.status))).toEqual(new Set(['open', 'acknowledged', 'pending_write_off']));
    const inRun = await http().get(`/reconciliations/${runId}/breaks?status=unresolved&limit=500`).set('authorization', as('viewer'));
    expect(inRun.body.data.map((b: { break_id: string }) => b.break_id).sort()).toEqual(unresolved.map((b) => b.id).sort());
  });

  it('shows the acknowledgement note, who and when on the break, and puts a comment text in the audit trail', async () => {
    const [target] = await walk('status=open');
    const acked = await http()
      .post(`/breaks/${target.id}/acknowledge`)
      .set('authorization', as('operator'))
      .send({ note: 'timing, Klear books it tomorrow' });
    expect(acked.body).toMatchObject({
      status: 'acknowledged',
      acknowledgement: { acknowledged_by: 'test-operator', note: 'timing, Klear books it tomorrow' },
    });
    expect(Number.isNaN(Date.parse(acked.body.acknowledgement.acknowledged_at))).toBe(false);
    const shown = await http().get(`/breaks/${target.id}`).set('authorization', as('viewer'));
    expect(shown.body.acknowledgement.note).toBe('timing, Klear books it tomorrow');
    const [untouched] = await walk('status=open');
    expect((await http().get(`/breaks/${untouched.id}`).set('authorization', as('viewer'))).body.acknowledgement).toBeNull();

    await http()
      .post(`/breaks/${target.id}/comments`)
      .set('authorization', as('operator'))
      .send({ body: 'desk confirms the fee' })
      .expect(201);
    const audit = await http().get(`/audit?entity=recon_break&entity_id=${target.id}`).set('authorization', as('viewer'));
    const comment = audit.body.data.find((r: { action: string }) => r.action === 'break.comment');
    expect(comment.details).toMatchObject({ body: 'desk confirms the fee', comment_id: expect.stringMatching(/^\d+$/) });
  });

  it('assigns a break only to a real enabled user, by id or name, shows the name, and refuses anything else with 400 changing nothing', async () => {
    const [target] = await walk('status=open');
    const path = `/breaks/${target.id}/assign`;
    const refused = await http().post(path).set('authorization', as('operator')).send({ assignee: 'me' });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('UNKNOWN_ASSIGNEE');
    expect(refused.body.message).toContain('me');
    expect((await http().get(`/breaks/${target.id}`).set('authorization', as('viewer'))).body.assignee).toBeNull();

    const byId = await http().post(path).set('authorization', as('operator')).send({ assignee: fixture.api.userIds.approver });
    expect(byId.status).toBe(200);
    expect(byId.body.assignee).toBe('test-approver');
    const byName = await http().post(path).set('authorization', as('operator')).send({ assignee: 'test-viewer' });
    expect(byName.body.assignee).toBe('test-viewer');
    const listed = await walk('assignee=test-viewer');
    expect(listed.map((b) => b.id)).toEqual([target.id]);

    const gone = await fixture.api.newUser('worklist-leaver', ['viewer']);
    await fixture.api.db.dataSource.query(`UPDATE app_user SET disabled_at = now() WHERE id = $1`, [gone.id]);
    expect((await http().post(path).set('authorization', as('operator')).send({ assignee: 'worklist-leaver' })).status).toBe(400);
    expect((await http().get(`/breaks/${target.id}`).set('authorization', as('viewer'))).body.assignee).toBe('test-viewer');
  });
});
