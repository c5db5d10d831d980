import type { CycleContext, ProjectedContext, ReconCheck } from './check';
import { fundingCheck } from './funding.check';
import { klearConsistencyCheck } from './klear-consistency.check';
import { maintenanceMarginCheck } from './maintenance-margin.check';
import { projectedCheck } from './projected.check';
import { settlementBufferCheck } from './settlement-buffer.check';
import { settlementDetailsCheck } from './settlement-details.check';

export type { CheckSql, CycleContext, PreparedCheck, ProjectedContext, ReconCheck } from './check';

/** The checks of a cycle's run, in the order they run (and of docs/ledger-and-breaks.md). */
export const CYCLE_CHECKS: ReadonlyArray<ReconCheck<CycleContext>> = [
  settlementDetailsCheck,
  maintenanceMarginCheck,
  fundingCheck,
  klearConsistencyCheck,
  settlementBufferCheck,
];

/** The checks of a projected run. */
export const PROJECTED_CHECKS: ReadonlyArray<ReconCheck<ProjectedContext>> = [projectedCheck];
