import { KlearBalanceHistoryEntry } from './klear-balance-history.entity';
import { KlearMarginReport } from './klear-margin-report.entity';
import { KlearActiveObligationPull, KlearObligation, KlearObligationVersion } from './klear-obligation.entity';
import { KlearMarginDetail, KlearReceive, KlearSettlementDetail } from './klear-obligation-detail.entity';
import { KlearResponseArchive } from './klear-response-archive.entity';
import {
  KlearBalanceSnapshot,
  KlearEstimateLine,
  KlearEstimateSnapshot,
  KlearGuarantyFundSnapshot,
  KlearLargeTraderPosition,
  KlearLargeTraderSnapshot,
} from './klear-snapshots.entity';
import { KlearSubtraderLatestFigures } from './klear-subtrader-latest-figures.entity';
import { KlearWithdrawal, KlearWithdrawalStatus } from './klear-withdrawal.entity';

export * from './klear-balance-history.entity';
export * from './klear-margin-report.entity';
export * from './klear-obligation.entity';
export * from './klear-obligation-detail.entity';
export * from './klear-response-archive.entity';
export * from './klear-snapshots.entity';
export * from './klear-subtrader-latest-figures.entity';
export * from './klear-withdrawal.entity';

export const KLEAR_ENTITIES = [
  KlearResponseArchive,
  KlearObligation,
  KlearObligationVersion,
  KlearActiveObligationPull,
  KlearSettlementDetail,
  KlearMarginDetail,
  KlearReceive,
  KlearEstimateSnapshot,
  KlearEstimateLine,
  KlearBalanceSnapshot,
  KlearBalanceHistoryEntry,
  KlearMarginReport,
  KlearGuarantyFundSnapshot,
  KlearLargeTraderSnapshot,
  KlearLargeTraderPosition,
  KlearWithdrawal,
  KlearWithdrawalStatus,
  KlearSubtraderLatestFigures,
];
