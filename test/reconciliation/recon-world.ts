import { createHash } from 'node:crypto';
import type { LedgerEntryInput } from '@app/ledger';
import { LedgerService } from '@app/ledger';
import { ReconciliationRepository, ReconciliationService, type ObservationRow, type RunOutcome } from '@app/reconciliation';
import { inTransaction, interpretAnswer, refreshLatestFigures } from '@app/ingestion';
import { parseKlearAnswer } from '@app/klear-client';
import { marginRequirement, reversalOf, tradeSettlement } from '../ledger/ledger-factory';
import { startApiWorld, type ApiWorld } from '../support/api-world';

/*
 * A hand-written world for one reconciliation rule at a time: Klear rows written into the ingestion
 * tables as ingestion stores them, the ledger posted through the ledger service, runs through the
 * reconciliation service of a real API (so that breaks can also be worked over HTTP).
 */

export interface DetailRow {
  subtrader: string;
  market: string;
  pnl: bigint;
  fees?: bigint;
  /** Klear's own total; defaults to pnl - fees (consistent). */
  total?: bigint;
  id?: string;
}

export interface MarginRow {
  /** '' for a netted group's row (Klear lists the group, not a member). */
  subtrader: string;
  requirement: bigint;
  delta?: bigint;
  id?: string;
  /** Klear's margin_group_id: the row is a netted subtrader group's requirement. */
  group?: string;
}

export interface FundingRow {
  subtrader: string;
  market: string;
  amount: bigint;
  fundingTime?: string;
  id?: string;
}

export interface ObligationSpec {
  cycle: string;
  id?: string;
  details?: DetailRow[];
  margins?: MarginRow[];
  /** Klear's funding payments of the cycle (one funding time each unless stated). */
  funding?: FundingRow[];
  /** Obligation totals; default: consistent with the details as Klear states them (total, delta, funding). */
  amount?: bigint;
}

export interface BalanceRow {
  ref: string;
  at: string;
  delta: bigint;
  locked?: bigint;
  reason?: string;
}

export interface EstimateLineSpec {
  variationMargin: bigint;
  fees: bigint;
}

/** One asset class of an estimate snapshot: its user line, listed subtraders and the cycle it projects. */
export interface EstimateClassSpec {
  user: EstimateLineSpec;
  subtraders: Record<string, EstimateLineSpec>;
  nextRuntime?: string;
}

export class ReconWorld {
  private obligationVersion = 0;

  private constructor(readonly api: ApiWorld) {}

  static async start(env: Record<string, string> = {}): Promise<ReconWorld> {
    return new ReconWorld(await startApiWorld(env));
  }

  /** A world with an obligation of no details for each cycle: cycles to run, nothing of Klear's to find. */
  static async withCycles(cycles: string[], env: Record<string, string> = {}): Promise<ReconWorld> {
    const world = await ReconWorld.start(env);
    for (const cycle of cycles) await world.obligation({ cycle });
    return world;
  }

  /** A world holding one obligation (`spec`): the usual start of a describe block. */
  static async withObligation(spec: ObligationSpec, env: Record<string, string> = {}): Promise<ReconWorld> {
    const world = await ReconWorld.start(env);
    await world.obligation(spec);
    return world;
  }

  get reconciliation(): ReconciliationService {
    return this.api.app.get(ReconciliationService);
  }

  get queries(): ReconciliationRepository {
    return this.api.app.get(ReconciliationRepository);
  }

  sql<T = Record<string, string>>(text: string, params: unknown[] = []): Promise<T[]> {
    return this.api.db.dataSource.query(text, params) as Promise<T[]>;
  }

  /** Klear's details of `cycle`: S1 and S2 on market M1, PnL 1,000 and 2,000; the ledger's trades book `booked` (S1's, S2's). */
  async twoSubtraders(cycle: string, booked: [bigint, bigint]): Promise<void> {
    await this.obligation({
      cycle,
      details: [
        { subtrader: 'S1', market: 'M1', pnl: 1_000n },
        { subtrader: 'S2', market: 'M1', pnl: 2_000n },
      ],
    });
    await this.post([
      trade('t/S1', cycle, 'S1', [{ market: 'M1', pnl: booked[0] }]),
      trade('t/S2', cycle, 'S2', [{ market: 'M1', pnl: booked[1] }]),
    ]);
  }

  /** Writes (or replaces) one obligation with its settlement and margin details. */
  async obligation(spec: ObligationSpec): Promise<string> {
    const id = spec.id ?? `obl-${spec.cycle}`;
    const details = (spec.details ?? []).map((d, i) => ({ ...d, fees: d.fees ?? 0n, id: d.id ?? `sd-${i + 1}` }));
    const margins = (spec.margins ?? []).map((m, i) => ({ ...m, delta: m.delta ?? m.requirement, id: m.id ?? `mm-${i + 1}` }));
    const pnl = details.reduce((s, d) => s + d.pnl, 0n);
    const fees = details.reduce((s, d) => s + d.fees, 0n);
    const totals = details.reduce((s, d) => s + (d.total ?? d.pnl - d.fees), 0n);
    const mm = margins.reduce((s, m) => s + m.requirement, 0n);
    const deltas = margins.reduce((s, m) => s + m.delta, 0n);
    const funding = (spec.funding ?? []).map((f, i) => ({ ...f, id: f.id ?? `fp-${i + 1}`, fundingTime: f.fundingTime ?? spec.cycle }));
    const fundingTotal = funding.reduce((s, f) => s + f.amount, 0n);
    const amount = spec.amount ?? totals - deltas + fundingTotal;
    this.obligationVersion += 1;
    const sha = createHash('sha256').update(`${id}/${this.obligationVersion}`).digest('hex');
    await this.api.db.dataSource.transaction(async (tx) => {
      await tx.query(`DELETE FROM klear_settlement_detail WHERE obligation_id = $1`, [id]);
      await tx.query(`DELETE FROM klear_margin_detail WHERE obligation_id = $1`, [id]);
      await tx.query(`DELETE FROM klear_funding_payment WHERE obligation_id = $1`, [id]);
      await tx.query(
        `INSERT INTO klear_obligation (id, user_id, amount_centicents, fees_centicents, maintenance_margin_centicents, pnl_centicents, execution_time,
                                       last_updated_ts, content_sha256, settlement_detail_count, first_pulled_at, pulled_at, archive_id)
         VALUES ($1, 'member', $2, $3, $4, $5, $6, $6::timestamptz + make_interval(secs => $7), $8, $9, $6, $6, 0)
         ON CONFLICT (id) DO UPDATE SET amount_centicents = EXCLUDED.amount_centicents, fees_centicents = EXCLUDED.fees_centicents,
           maintenance_margin_centicents = EXCLUDED.maintenance_margin_centicents, pnl_centicents = EXCLUDED.pnl_centicents,
           last_updated_ts = EXCLUDED.last_updated_ts, content_sha256 = EXCLUDED.content_sha256, settlement_detail_count = EXCLUDED.settlement_detail_count`,
        [id, amount.toString(), fees.toString(), mm.toString(), pnl.toString(), spec.cycle, this.obligationVersion, sha, details.length],
      );
      for (const d of details) {
        await tx.query(
          `INSERT INTO klear_settlement_detail (obligation_id, id, market_ticker, subtrader_id, pnl_centicents, fees_centicents, total_centicents, cycle)
           VALUES ($1, $2, $3, $4, $5, $6, $7, (SELECT execution_time FROM klear_obligation WHERE id = $1))`,
          [id, d.id, d.market, d.subtrader, d.pnl.toString(), d.fees.toString(), (d.total ?? d.pnl - d.fees).toString()],
        );
      }
      for (const m of margins) {
        await tx.query(
          `INSERT INTO klear_margin_detail (obligation_id, id, subtrader_id, maintenance_margin_centicents, maintenance_margin_delta_centicents, margin_group_id, cycle)
           VALUES ($1, $2, $3, $4, $5, $6, (SELECT execution_time FROM klear_obligation WHERE id = $1))`,
          [id, m.id, m.subtrader, m.requirement.toString(), m.delta.toString(), m.group ?? null],
        );
      }
      for (const f of funding) {
        await tx.query(
          `INSERT INTO klear_funding_payment (obligation_id, id, market_ticker, subtrader_id, funding_time, position_quantity_fp, notional_value_centicents, funding_amount_centicents)
           VALUES ($1, $2, $3, $4, $5, 1, 0, $6)`,
          [id, f.id, f.market, f.subtrader, f.fundingTime, f.amount.toString()],
        );
      }
      await tx.query(`UPDATE klear_obligation SET funding_centicents = $2, funding_payment_count = $3 WHERE id = $1`, [
        id,
        fundingTotal.toString(),
        funding.length,
      ]);
      // As ingestion leaves it (upsertObligation): the latest cycle's figures of GET /subtraders.
      await refreshLatestFigures(tx, null);
    });
    return id;
  }

  /** A pull of Klear's subtrader groups at `pulledAt`, through ingestion's interpreter (membership kept with its history). */
  async groups(pulledAt: string, groups: Record<string, string[]>): Promise<void> {
    const answer = JSON.stringify({
      groups: Object.entries(groups).map(([group_id, member_subtrader_ids]) => ({ group_id, member_subtrader_ids })),
    });
    await inTransaction(this.api.db.dataSource, (tx) =>
      interpretAnswer(tx, 'subtraderGroups', parseKlearAnswer('subtraderGroups', answer), '0', new Date(pulledAt)),
    );
  }

  /** Klear settlement-balance history rows, as ingestion stores them. */
  async balance(rows: BalanceRow[]): Promise<void> {
    for (const r of rows) {
      await this.sql(
        `INSERT INTO klear_balance_history (business_transaction_id, created_ts, balance_delta_centicents, locked_balance_delta_centicents, reason, first_pulled_at, archive_id)
         VALUES ($1, $2, $3, $4, $5, $2, 0)`,
        [r.ref, r.at, r.delta.toString(), (r.locked ?? 0n).toString(), r.reason ?? (r.delta < 0n ? 'settlement_payment' : 'deposit')],
      );
    }
  }

  /**
   * An estimate snapshot of one asset class (Crypto unless named): its user line (naming the cycle it
   * projects with `nextRuntime`, the live API's) and its listed subtraders.
   */
  estimate(
    pulledAt: string,
    user: EstimateLineSpec,
    subtraders: Record<string, EstimateLineSpec>,
    nextRuntime?: string,
    assetClass = 'Crypto',
  ): Promise<string> {
    return this.estimateByClass(pulledAt, { [assetClass]: { user, subtraders, nextRuntime } });
  }

  /**
   * An estimate snapshot as ingestion stores it: per asset class its user line and listed subtraders,
   * and the derived lines under asset class '' adding every class up.
   */
  async estimateByClass(pulledAt: string, classes: Record<string, EstimateClassSpec>): Promise<string> {
    const [snapshot] = await this.sql<{ id: string }>(
      `INSERT INTO klear_estimate_snapshot (source, pulled_at, settlement_balance_centicents, archive_id) VALUES ('settlement_estimate_by_asset_class', $1, 0, 0) RETURNING id::text`,
      [pulledAt],
    );
    const all = new Map<string, EstimateLineSpec>();
    const lines: Array<[string, string, string, EstimateLineSpec, string | null]> = [];
    for (const [assetClass, spec] of Object.entries(classes)) {
      for (const [scope, key, line] of [
        ['user', '', spec.user] as const,
        ...Object.entries(spec.subtraders).map(([k, l]) => ['subtrader', k, l] as const),
      ]) {
        lines.push([assetClass, scope, key, line, scope === 'user' ? (spec.nextRuntime ?? null) : null]);
        const sum = all.get(`${scope}/${key}`) ?? { variationMargin: 0n, fees: 0n };
        all.set(`${scope}/${key}`, { variationMargin: sum.variationMargin + line.variationMargin, fees: sum.fees + line.fees });
      }
    }
    for (const [id, line] of all) lines.push(['', id.slice(0, id.indexOf('/')), id.slice(id.indexOf('/') + 1), line, null]);
    for (const [assetClass, scope, key, line, nextRuntime] of lines) {
      await this.sql(
        `INSERT INTO klear_estimate_line (snapshot_id, asset_class, scope, key, variation_margin_centicents, total_fees_centicents,
                                          maintenance_margin_delta_centicents, maintenance_margin_required_centicents, total_amount_centicents, next_runtime)
         VALUES ($1, $2, $3, $4, $5, $6, 0, 0, $7, $8)`,
        [
          snapshot.id,
          assetClass,
          scope,
          key,
          line.variationMargin.toString(),
          line.fees.toString(),
          (line.variationMargin - line.fees).toString(),
          nextRuntime,
        ],
      );
    }
    return snapshot.id;
  }

  post(entries: LedgerEntryInput[]): Promise<unknown> {
    return this.api.app.get(LedgerService).post(entries, 'test');
  }

  run(cycle: string): Promise<RunOutcome> {
    return this.reconciliation.start({ cycle: new Date(cycle) }, 'test');
  }

  runProjected(assetClass?: string): Promise<RunOutcome> {
    return this.reconciliation.start({ projected: true, assetClass }, 'test');
  }

  /** The run's breaks (optionally of some checks), in the run's order, with the break's status and id. */
  async breaks(runId: string, checks?: string[]): Promise<ObservationRow[]> {
    const rows = await this.queries.runBreaks(runId, { limit: 100_000 });
    return checks ? rows.filter((r) => checks.includes(r.check)) : rows;
  }

  /** Compact view of a run's breaks: key, reason, klear, internal, difference. */
  async brief(runId: string, checks?: string[]): Promise<Array<[string, string, string | null, string | null, string]>> {
    return (await this.breaks(runId, checks)).map((b) => [
      b.break_key,
      b.reason_code,
      b.klear_value_centicents,
      b.internal_value_centicents,
      b.difference_centicents,
    ]);
  }

  /** Runs the cycle and answers the brief of the breaks that run found. */
  async runBrief(cycle: string): Promise<Array<[string, string, string | null, string | null, string]>> {
    return this.brief((await this.run(cycle)).runId);
  }

  as(role: 'operator' | 'approver' | 'approver2' | 'viewer' | 'admin'): string {
    return `Bearer ${this.api.tokens[role]}`;
  }

  close(): Promise<void> {
    return this.api.close();
  }
}

/** A trade settlement of one subtrader's cycle (the ledger tests' factory, cycle first). */
export const trade = (
  externalId: string,
  cycle: string,
  subtrader: string,
  markets: Array<{ market: string; pnl: bigint; fees?: bigint }>,
): LedgerEntryInput =>
  tradeSettlement(
    externalId,
    subtrader,
    markets.map((m) => ({ ticker: m.market, pnl: m.pnl, fee: m.fees ?? 0n })),
    cycle,
  );

/** A PnL (and fees) correction of one subtrader's cycle, balanced on klear_settlement when it does not net to zero. */
export function adjustment(
  externalId: string,
  cycle: string,
  subtrader: string,
  lines: Array<{ market: string; pnl?: bigint; fees?: bigint }>,
): LedgerEntryInput {
  const postings = lines.flatMap((l) => [
    ...(l.pnl === undefined ? [] : [{ account: 'trading_pnl', market_ticker: l.market, amount_centicents: l.pnl.toString() }]),
    ...(l.fees === undefined ? [] : [{ account: 'trading_fees', market_ticker: l.market, amount_centicents: (-l.fees).toString() }]),
  ]);
  const sum = postings.reduce((s, p) => s + BigInt(p.amount_centicents), 0n);
  return {
    external_id: externalId,
    entry_type: 'adjustment',
    effective_at: cycle,
    cycle,
    subtrader_id: subtrader,
    postings: sum === 0n ? postings : [...postings, { account: 'klear_settlement', amount_centicents: (-sum).toString() }],
  };
}

/** A margin requirement of one subtrader's cycle (the ledger tests' factory, cycle first). */
export const margin = (externalId: string, cycle: string, subtrader: string, requirement: bigint): LedgerEntryInput =>
  marginRequirement(externalId, subtrader, requirement, cycle);

export function buffer(
  externalId: string,
  effectiveAt: string,
  amount: bigint,
  options: { reference?: string; cycle?: string } = {},
): LedgerEntryInput {
  return {
    external_id: externalId,
    entry_type: 'buffer_movement',
    effective_at: effectiveAt,
    ...(options.cycle ? { cycle: options.cycle } : {}),
    ...(options.reference ? { business_reference: options.reference } : {}),
    postings: [
      { account: 'settlement_buffer', amount_centicents: amount.toString() },
      { account: 'bank', amount_centicents: (-amount).toString() },
    ],
  };
}

/** The reversal of `original`, booked at `effectiveAt`. */
export const reversal = (externalId: string, original: LedgerEntryInput, effectiveAt = original.effective_at): LedgerEntryInput => ({
  ...reversalOf(original, externalId),
  effective_at: effectiveAt,
});
