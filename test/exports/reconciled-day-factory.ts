import { refreshLatestFigures } from '@app/ingestion';
import type { DataSource, EntityManager } from 'typeorm';
import { postJournalEntry, settlementPostings } from './settlement-world';

/**
 * Seeds one reconciled ET settlement day with plain SQL that follows the entities of ingestion, the
 * ledger, reconciliation and withdrawals (reconciliation runs and breaks are inserted as rows, not
 * produced by the reconciliation engine). Untrusted text carries formula-injection attempts.
 */
export const DAY = '2026-03-10';
/** 16:00 ET and 23:30 ET on DAY (the second is already 2026-03-11 in UTC). */
export const CYCLE_1 = '2026-03-10T20:00:00.000Z';
export const CYCLE_2 = '2026-03-11T03:30:00.000Z';
/** 23:00 ET on the day before: 2026-03-10 in UTC, but not DAY's cycle. */
export const CYCLE_PREVIOUS_DAY = '2026-03-10T03:00:00.000Z';

export const INJECTION_SUBTRADER = '=HYPERLINK("http://evil.example","click")';
export const INJECTION_COMMENT = '@SUM(A1:A9)';
export const INJECTION_PURPOSE = '-2+3 treasury sweep';
export const INJECTION_DESCRIPTION = '+cmd|/C calc!A0';
/** 2^53 + 1 centicents: not exactly representable as a double. */
export const HUGE_PNL = 9_007_199_254_740_993n;

export async function klearCycle(
  m: EntityManager,
  id: string,
  cycle: string,
  details: Array<[string, string, bigint, bigint]>,
  margins: Array<[string, bigint]>,
): Promise<void> {
  const pnl = details.reduce((s, d) => s + d[2], 0n);
  const fees = details.reduce((s, d) => s + d[3], 0n);
  const mm = margins.reduce((s, d) => s + d[1], 0n);
  await m.query(
    `INSERT INTO klear_obligation (id, user_id, amount_centicents, fees_centicents, maintenance_margin_centicents, pnl_centicents, execution_time, last_updated_ts,
                                   content_sha256, settlement_detail_count, first_pulled_at, pulled_at, archive_id)
     VALUES ($1, 'scm', $2, $3, $4, $5, $6, $6, md5($1), $7, now(), now(), 1)`,
    [id, (pnl - fees).toString(), fees.toString(), mm.toString(), pnl.toString(), cycle, details.length],
  );
  for (const [i, [subtrader, market, p, f]] of details.entries()) {
    await m.query(
      `INSERT INTO klear_settlement_detail (obligation_id, id, market_ticker, subtrader_id, pnl_centicents, fees_centicents, total_centicents, cycle) VALUES ($1, $2, $3, $4, $5, $6, $7, (SELECT execution_time FROM klear_obligation WHERE id = $1))`,
      [id, `${id}-d${i}`, market, subtrader, p.toString(), f.toString(), (p - f).toString()],
    );
  }
  for (const [i, [subtrader, margin]] of margins.entries()) {
    await m.query(
      `INSERT INTO klear_margin_detail (obligation_id, id, subtrader_id, maintenance_margin_centicents, maintenance_margin_delta_centicents, cycle) VALUES ($1, $2, $3, $4, 0, (SELECT execution_time FROM klear_obligation WHERE id = $1))`,
      [id, `${id}-m${i}`, subtrader, margin.toString()],
    );
  }
  // As ingestion leaves it (upsertObligation): the latest cycle's figures of GET /subtraders.
  await refreshLatestFigures(m, null);
}

export interface SeededDay {
  runIds: { cycle1: string; cycle2: string; previous: string };
  breakIds: Record<'new' | 'carriedOver' | 'closedToday' | 'closedLongAgo' | 'projected', string>;
  withdrawalId: string;
}

export async function seedReconciledDay(dataSource: DataSource): Promise<SeededDay> {
  return dataSource.transaction(async (m) => {
    for (const s of ['ST-A', 'ST-B', 'ST-C', 'ST-H']) {
      await m.query(`INSERT INTO subtrader (subtrader_id, first_seen_in_ledger_at) VALUES ($1, now()) ON CONFLICT DO NOTHING`, [s]);
    }
    // Cycle 1: A matches, B is 1 centicent off on one market, the injection subtrader is Klear-only, C ledger-only.
    await klearCycle(
      m,
      'ob-1',
      CYCLE_1,
      [
        ['ST-A', 'MKT-X', 1_250_000n, 500n],
        ['ST-A', 'MKT-Y', -30_000n, 25n],
        ['ST-B', 'MKT-X', 77_777n, 3n],
        ['ST-B', 'MKT-Z', 10n, 1n],
        [INJECTION_SUBTRADER, 'MKT-X', 5n, 0n],
      ],
      [
        ['ST-A', 400_000n],
        ['ST-B', 1_000n],
        ['', 7n],
      ],
    );
    // Cycle 2 (23:30 ET): H carries an amount beyond 2^53 centicents.
    await klearCycle(
      m,
      'ob-2',
      CYCLE_2,
      [
        ['ST-H', 'MKT-BIG', HUGE_PNL, 1n],
        ['ST-A', 'MKT-X', -99n, 1n],
      ],
      [['ST-H', 0n]],
    );
    // The previous ET day's cycle: must not appear.
    await klearCycle(m, 'ob-0', CYCLE_PREVIOUS_DAY, [['ST-A', 'MKT-OLD', 123_456n, 6n]], []);

    await postJournalEntry(m, {
      id: 'ts-a-1',
      type: 'trade_settlement',
      at: CYCLE_1,
      cycle: CYCLE_1,
      subtrader: 'ST-A',
      postings: settlementPostings([
        ['MKT-X', 1_250_000n, 500n],
        ['MKT-Y', -30_000n, 25n],
      ]),
    });
    await postJournalEntry(m, {
      id: 'ts-b-1',
      type: 'trade_settlement',
      at: CYCLE_1,
      cycle: CYCLE_1,
      subtrader: 'ST-B',
      description: INJECTION_DESCRIPTION,
      postings: settlementPostings([
        ['MKT-X', 77_776n, 3n],
        ['MKT-Z', 10n, 1n],
      ]),
    });
    await postJournalEntry(m, {
      id: 'ts-c-1',
      type: 'trade_settlement',
      at: CYCLE_1,
      cycle: CYCLE_1,
      subtrader: 'ST-C',
      postings: settlementPostings([['MKT-X', 42n, 2n]]),
    });
    await postJournalEntry(m, {
      id: 'mm-a-1',
      type: 'margin_requirement',
      at: CYCLE_1,
      cycle: CYCLE_1,
      subtrader: 'ST-A',
      postings: [
        ['maintenance_margin', null, 400_000n],
        ['maintenance_margin_contra', null, -400_000n],
      ],
    });
    const hwm1 = await postJournalEntry(m, {
      id: 'ts-h-2',
      type: 'trade_settlement',
      at: CYCLE_2,
      cycle: CYCLE_2,
      subtrader: 'ST-H',
      postings: settlementPostings([['MKT-BIG', HUGE_PNL, 1n]]),
    });
    // Booked after the runs: beyond their high-water mark, so the workbook leaves it out like the runs did.
    await postJournalEntry(m, {
      id: 'ts-a-2',
      type: 'trade_settlement',
      at: CYCLE_2,
      cycle: CYCLE_2,
      subtrader: 'ST-A',
      postings: settlementPostings([['MKT-X', -99n, 1n]]),
    });

    // Buffer: a deposit matched by reference, a Klear-only payment, a ledger-only movement.
    await postJournalEntry(m, {
      id: 'dep-1',
      type: 'buffer_movement',
      at: '2026-03-10T14:00:00Z',
      reference: 'btx-dep-1',
      description: INJECTION_DESCRIPTION,
      postings: [
        ['settlement_buffer', null, 5_000_000n],
        ['bank', null, -5_000_000n],
      ],
    });
    await postJournalEntry(m, {
      id: 'dep-2',
      type: 'buffer_movement',
      at: '2026-03-10T15:00:00Z',
      reference: 'btx-ledger-only',
      postings: [
        ['settlement_buffer', null, 20_000n],
        ['bank', null, -20_000n],
      ],
    });
    for (const [btx, at, delta] of [
      ['btx-dep-1', '2026-03-10T14:00:05Z', 5_000_000n],
      ['btx-pay-1', '2026-03-10T21:00:00Z', -1_234_567n],
      ['btx-old', '2026-03-09T14:00:00Z', 1n],
    ] as const) {
      await m.query(
        `INSERT INTO klear_balance_history (business_transaction_id, created_ts, balance_delta_centicents, locked_balance_delta_centicents, reason, first_pulled_at, archive_id)
         VALUES ($1, $2, $3, 0, 'deposit', now(), 1)`,
        [btx, at, delta.toString()],
      );
    }
    for (const [at, available, locked] of [
      ['2026-03-10T03:59:00Z', 10_000_000n, 0n],
      ['2026-03-10T21:30:00Z', 13_765_433n, 250_000n],
      ['2026-03-11T05:00:00Z', 1n, 1n],
    ] as const) {
      await m.query(
        `INSERT INTO klear_balance_snapshot (pulled_at, user_id, available_centicents, locked_centicents, archive_id) VALUES ($1, 'scm', $2, $3, 1)`,
        [at, available.toString(), locked.toString()],
      );
    }

    const run = async (cycle: string, hwm: string, finished: string, summary: unknown = null) =>
      (
        (await m.query(
          `INSERT INTO recon_run (scope, scope_key, cycle, inputs, inputs_sha256, status, started_at, finished_at, break_count, summary, created_by)
         VALUES ('cycle', 'cycle/' || $1, $1::timestamptz, jsonb_build_object('ledger_seq', $2::text), md5($2), 'succeeded', $3::timestamptz - interval '1 minute', $3, 0, $4, 'factory') RETURNING id::text AS id`,
          [cycle, hwm, finished, summary],
        )) as Array<{ id: string }>
      )[0].id;
    const previous = await run(CYCLE_PREVIOUS_DAY, hwm1, '2026-03-10T03:30:00Z');
    // What a run reports it tolerated (within RECON_TOLERANCE_*): per check, a count and the net difference.
    const cycle1 = await run(CYCLE_1, hwm1, '2026-03-10T22:00:00Z', {
      checks: {
        settlement_details: { breaks: 1, tolerated: 2, tolerated_difference: '-3' },
        maintenance_margin: { breaks: 1, tolerated: 0, tolerated_difference: '0' },
      },
    });
    const cycle2 = await run(CYCLE_2, hwm1, '2026-03-11T04:00:00Z');

    const brk = async (b: {
      key: string;
      check: string;
      cycle: string | null;
      subtrader?: string;
      market?: string;
      reason: string;
      klear: bigint | null;
      internal: bigint | null;
      status: string;
      created: string;
      firstRun: string;
      closedBy?: string;
      assignee?: string;
    }) =>
      (
        (await m.query(
          `INSERT INTO recon_break (scope_key, break_key, "check", cycle, subtrader_id, market_ticker, reason_code, klear_value_centicents, internal_value_centicents,
                                  difference_centicents, status, first_seen_run, last_seen_run, closed_by_run, assignee, created_at, updated_at)
         VALUES ('cycle/' || coalesce($3::text, ''), $1, $2, $3::timestamptz, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13, $14, $14) RETURNING id::text AS id`,
          [
            b.key,
            b.check,
            b.cycle,
            b.subtrader ?? null,
            b.market ?? null,
            b.reason,
            b.klear?.toString() ?? null,
            b.internal?.toString() ?? null,
            ((b.klear ?? 0n) - (b.internal ?? 0n)).toString(),
            b.status,
            b.firstRun,
            b.closedBy ?? null,
            b.assignee ?? null,
            b.created,
          ],
        )) as Array<{ id: string }>
      )[0].id;
    const breakIds = {
      new: await brk({
        key: `settlement_details/${CYCLE_1}/ST-B/MKT-X`,
        check: 'settlement_details',
        cycle: CYCLE_1,
        subtrader: 'ST-B',
        market: 'MKT-X',
        reason: 'amount_mismatch',
        klear: 77_774n,
        internal: 77_773n,
        status: 'acknowledged',
        created: '2026-03-10T22:00:00Z',
        firstRun: cycle1,
        assignee: INJECTION_SUBTRADER,
      }),
      carriedOver: await brk({
        key: 'settlement_buffer/btx-stale',
        check: 'settlement_buffer',
        cycle: CYCLE_PREVIOUS_DAY,
        reason: 'missing_internal',
        klear: -2_500n,
        internal: null,
        status: 'open',
        created: '2026-03-10T03:30:00Z',
        firstRun: previous,
      }),
      closedToday: await brk({
        key: `maintenance_margin/${CYCLE_PREVIOUS_DAY}/ST-A`,
        check: 'maintenance_margin',
        cycle: CYCLE_PREVIOUS_DAY,
        subtrader: 'ST-A',
        reason: 'missing_internal',
        klear: 10n,
        internal: null,
        status: 'closed',
        created: '2026-03-09T04:00:00Z',
        firstRun: previous,
        closedBy: cycle1,
      }),
      closedLongAgo: await brk({
        key: 'settlement_buffer/btx-ancient',
        check: 'settlement_buffer',
        cycle: null,
        reason: 'missing_klear',
        klear: null,
        internal: 3n,
        status: 'closed',
        created: '2026-03-01T04:00:00Z',
        firstRun: previous,
        closedBy: previous,
      }),
      projected: await brk({
        key: 'projected/9/ST-A',
        check: 'projected',
        cycle: null,
        subtrader: 'ST-A',
        reason: 'projected_mismatch',
        klear: 5n,
        internal: 4n,
        status: 'open',
        created: '2026-03-10T12:00:00Z',
        firstRun: previous,
      }),
    };
    // What the run of cycle 1 found (runs record an observation per break they find): the 'new' break.
    await m.query(
      `INSERT INTO recon_break_observation (run_id, ordinal, break_id, break_key, "check", subtrader_id, reason_code, klear_value_centicents, internal_value_centicents,
                                            difference_centicents, pnl_difference_centicents, fees_difference_centicents, klear_rows, internal_rows, cycle_key)
       SELECT $1, 1, b.id, b.break_key, b."check", b.subtrader_id, b.reason_code, b.klear_value_centicents, b.internal_value_centicents, b.difference_centicents,
              b.difference_centicents, 0, '[]', '[]', coalesce((SELECT r.cycle FROM recon_run r WHERE r.id = $1), '-infinity')
         FROM recon_break b WHERE b.id = $2`,
      [cycle1, breakIds.new],
    );
    await m.query(
      `INSERT INTO recon_break_comment (break_id, author, body, created_at) VALUES ($1, 'alice', 'first look', '2026-03-10T22:10:00Z'), ($1, 'bob', $2, '2026-03-10T22:20:00Z')`,
      [breakIds.new, INJECTION_COMMENT],
    );

    const [{ id: userId }] = (await m.query(
      `INSERT INTO app_user (name, roles) VALUES ('factory-requester', '{operator}') RETURNING id`,
    )) as Array<{ id: string }>;
    const [{ id: approverId }] = (await m.query(
      `INSERT INTO app_user (name, roles) VALUES ('factory-approver', '{approver}') RETURNING id`,
    )) as Array<{ id: string }>;
    const [{ id: withdrawalId }] = (await m.query(
      `INSERT INTO withdrawal_request (amount_centicents, purpose, requester_id, requester_name, idempotency_key, request_hash, state, policy_version, policy_snapshot,
                                       approvals_required, roles_required, expires_at, headroom_at_request, klear_withdrawal_id, submitted_at, klear_status, created_at, updated_at, version)
       VALUES (2500000, $1, $2, 'factory-requester', 'k1', 'h', 'submitted', 1, '{}', 1, '{approver}', '2026-03-11T15:00:00Z', '{}', 'kw-77', '2026-03-10T15:10:00Z', 'pending',
               '2026-03-10T15:00:00Z', '2026-03-10T15:10:00Z', 1) RETURNING id`,
      [INJECTION_PURPOSE, userId],
    )) as Array<{ id: string }>;
    await m.query(
      `INSERT INTO withdrawal_approval (request_id, round, approver_id, approver_name, approver_roles, decision, decided_at) VALUES ($1, 1, $2, 'factory-approver', '{approver}', 'approve', '2026-03-10T15:05:00Z')`,
      [withdrawalId, approverId],
    );
    for (const [i, [from, to, at]] of (
      [
        [null, 'pending_approval', '2026-03-10T15:00:00Z'],
        ['pending_approval', 'approved', '2026-03-10T15:05:00Z'],
        ['approved', 'submitting', '2026-03-10T15:09:00Z'],
        ['submitting', 'submitted', '2026-03-10T15:10:00Z'],
      ] as const
    ).entries()) {
      await m.query(
        `INSERT INTO withdrawal_state_change (request_id, from_state, to_state, actor, at, audit_seq) VALUES ($1, $2, $3, 'factory', $4, $5)`,
        [withdrawalId, from, to, at, i + 1],
      );
    }
    await m.query(
      `INSERT INTO job_run (job, trigger, status, started_at, finished_at, worker_instance) VALUES
         ('balance_history', 'schedule', 'succeeded', '2026-03-10T21:00:00Z', '2026-03-10T21:00:02Z', 'w1'),
         ('balance_history', 'schedule', 'failed', '2026-03-10T21:10:00Z', '2026-03-10T21:10:01Z', 'w1'),
         ('obligation_history', 'schedule', 'succeeded', '2026-03-10T21:15:00Z', '2026-03-10T21:15:09Z', 'w1')`,
    );
    return { runIds: { cycle1, cycle2, previous }, breakIds, withdrawalId };
  });
}
