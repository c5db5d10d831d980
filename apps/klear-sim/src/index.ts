export { startKlearSimulator } from './simulator';
export type { RunningKlearSimulator } from './simulator';
export { DEFAULT_OPTIONS, OPTION_SPECS, resolveOptions } from './options';
export type { Cadence, SimulatorOptions } from './options';
export { ADMIN_TOKEN_HEADER } from './admin-routes';
export { DISCREPANCY_KINDS } from './ledger-feed';
export type { DiscrepancyKind } from './ledger-feed';
export { FAULT_KINDS } from './faults';
export type { FaultKind, FaultRule } from './faults';
