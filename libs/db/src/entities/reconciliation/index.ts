import { ReconBreak, ReconBreakComment, ReconBreakObservation } from './recon-break.entity';
import { ReconRun, ReconSubtraderRollup } from './recon-run.entity';
import { KlearFundingSummary, KlearSettlementSummary, LedgerFundingSummary, LedgerTradingSummary } from './recon-summary.entity';

export * from './recon-break.entity';
export * from './recon-run.entity';
export * from './recon-summary.entity';

export const RECONCILIATION_ENTITIES = [
  ReconRun,
  ReconSubtraderRollup,
  ReconBreak,
  ReconBreakObservation,
  ReconBreakComment,
  KlearSettlementSummary,
  LedgerTradingSummary,
  KlearFundingSummary,
  LedgerFundingSummary,
];
