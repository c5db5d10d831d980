import { createHash } from 'node:crypto';
import type { AppConfig } from '@app/config';

/** What a run is configured with: the configuration's `reconciliation` (RECON_* settings). */
export type ReconSettings = AppConfig['reconciliation'];

/** Tolerances per check, absolute, in centicents (docs/ledger-and-breaks.md; default zero). */
export type ReconTolerances = ReconSettings['tolerances'];

/** A cycle as written in break keys: the Klear/simulator form, whole seconds without `.000`. */
export function cycleKeyText(cycle: Date): string {
  return cycle.toISOString().replace('.000Z', 'Z');
}

/** A cycle's run reconciles one asset class: its scope (the breaks it may open or close) names both. */
export function cycleScopeKey(cycle: Date, assetClass: string): string {
  return `cycle/${cycleKeyText(cycle)}/${assetClass}`;
}

/** The asset class of rows held before asset classes existed, and of ledger entries naming none. */
export const DEFAULT_ASSET_CLASS = 'Crypto';

/** A projected run reconciles one asset class too: the estimate of that class against the ledger's entries of that class. */
export function projectedScopeKey(assetClass: string): string {
  return `projected/${assetClass}`;
}

/** The latest by-asset-class estimate snapshot (what projected runs reconcile): its id and pull time. */
export const LATEST_ESTIMATE_SNAPSHOT_SQL = `
  SELECT s.id::text, s.pulled_at FROM klear_estimate_snapshot s
   WHERE s.source = 'settlement_estimate_by_asset_class' ORDER BY s.pulled_at DESC, s.id DESC LIMIT 1`;

/** Canonical JSON (sorted keys, bigints as strings) for hashing inputs. */
export function canonicalInputs(value: unknown): string {
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalInputs).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalInputs(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export function inputsSha256(fingerprint: unknown): string {
  return createHash('sha256').update(canonicalInputs(fingerprint)).digest('hex');
}

export function tolerancesJson(t: ReconTolerances): Record<string, string> {
  return {
    settlement_details: t.settlementDetails.toString(),
    maintenance_margin: t.maintenanceMargin.toString(),
    funding: t.funding.toString(),
    klear_consistency: t.klearConsistency.toString(),
    settlement_buffer: t.settlementBuffer.toString(),
    projected: t.projected.toString(),
  };
}
