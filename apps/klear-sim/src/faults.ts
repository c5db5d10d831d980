import { z } from 'zod';
import { Salt, hashInts, unitInterval } from './prng';

export const FAULT_KINDS = [
  'status',
  'rate_limit_burst',
  'latency',
  'timeout',
  'connection_reset',
  'duplicate_items',
  'reorder_items',
  'obligation_changed',
  'hold',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const faultRuleSchema = z.object({
  kind: z.enum(FAULT_KINDS),
  /** API path relative to the base URL (e.g. "/margin/obligation_history"), or "*" for every endpoint. */
  endpoint: z.string().default('*'),
  /** Probability per matching request (decided from the fault seed and the request number). */
  rate: z.number().min(0).max(1).default(1),
  /** Let this many matching requests pass before the rule may fire. */
  skip: z.number().int().min(0).default(0),
  /** Fire at most this many times (unlimited when absent). */
  times: z.number().int().min(1).optional(),
  /** For `status`. */
  status: z.union([z.literal(500), z.literal(502), z.literal(503), z.literal(504)]).default(503),
  /** For `rate_limit_burst`. */
  retry_after_seconds: z.number().int().min(0).default(1),
  /** For `latency`. */
  latency_ms: z.number().int().min(0).default(500),
  /** `before`: the request has no effect (a `hold` keeps it before the handler); `after`: the handler ran (a withdrawal was created) and then the fault hit (a `hold` keeps the answer). */
  phase: z.enum(['before', 'after']).default('before'),
});
export type FaultRule = z.infer<typeof faultRuleSchema>;

export const faultConfigSchema = z.object({
  seed: z.number().int().min(0).optional(),
  rules: z.array(faultRuleSchema),
});

interface RuleCounters {
  matched: number;
  fired: number;
}

export interface FaultDecision {
  latencyMs: number;
  /** The first terminal fault that fires (status, 429, timeout, reset), if any. */
  terminal?: FaultRule;
  /** A `hold` rule that fires: the request (or its answer) waits until released by the admin path. */
  hold?: FaultRule;
  /** Pagination faults that fire on this request. */
  paging: Set<'duplicate_items' | 'reorder_items' | 'obligation_changed'>;
}

/** Fault rules with deterministic decisions: the same seed and request sequence fire the same faults. */
export class FaultInjector {
  private rules: FaultRule[] = [];
  private counters: RuleCounters[] = [];
  private requestNumber = 0;
  readonly firedLog: { request: number; endpoint: string; kind: FaultKind }[] = [];

  constructor(private seed: number) {}

  configure(rules: FaultRule[], seed?: number): void {
    this.rules = rules;
    this.counters = rules.map(() => ({ matched: 0, fired: 0 }));
    if (seed !== undefined) this.seed = seed;
    this.requestNumber = 0;
  }

  describe(): { seed: number; rules: FaultRule[]; counters: RuleCounters[] } {
    return { seed: this.seed, rules: this.rules, counters: this.counters };
  }

  /** `hasCursor`: an `obligation_changed` rule only matches page reads after the first page. */
  decide(endpoint: string, hasCursor: boolean): FaultDecision {
    const request = ++this.requestNumber;
    const decision: FaultDecision = { latencyMs: 0, paging: new Set() };
    this.rules.forEach((rule, index) => {
      if (rule.endpoint !== '*' && rule.endpoint !== endpoint) return;
      if (rule.kind === 'obligation_changed' && (endpoint !== '/margin/obligation_history' || !hasCursor)) return;
      const counters = this.counters[index];
      counters.matched++;
      if (counters.matched <= rule.skip) return;
      if (rule.times !== undefined && counters.fired >= rule.times) return;
      if (unitInterval(hashInts(this.seed, Salt.fault, request, index)) >= rule.rate) return;
      const terminal =
        rule.kind === 'status' || rule.kind === 'rate_limit_burst' || rule.kind === 'timeout' || rule.kind === 'connection_reset';
      if (terminal && decision.terminal !== undefined) return; // one terminal fault per request
      counters.fired++;
      this.firedLog.push({ request, endpoint, kind: rule.kind });
      if (rule.kind === 'latency') decision.latencyMs += rule.latency_ms;
      else if (rule.kind === 'hold') decision.hold ??= rule;
      else if (terminal) decision.terminal = rule;
      else decision.paging.add(rule.kind as 'duplicate_items' | 'reorder_items' | 'obligation_changed');
    });
    return decision;
  }
}
