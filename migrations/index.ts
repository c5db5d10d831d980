import { Foundation1795255369247 } from './1795255369247-Foundation';
import { Ledger1795255604916 } from './1795255604916-Ledger';
import { Secrets1795255642352 } from './1795255642352-Secrets';
import { JobsAndKlearIngestion1795255857738 } from './1795255857738-JobsAndKlearIngestion';
import { Reconciliation1795255967925 } from './1795255967925-Reconciliation';
import { Withdrawals1795255984087 } from './1795255984087-Withdrawals';
import { ExportFiles1795256148671 } from './1795256148671-ExportFiles';
import { LedgerPostingAccountIndex1795258653861 } from './1795258653861-LedgerPostingAccountIndex';
import { MarginDetailSubtraderIndex1795259502495 } from './1795259502495-MarginDetailSubtraderIndex';
import { ReconciliationSummaries1795262514328 } from './1795262514328-ReconciliationSummaries';
import { WithdrawalFencingAndAnswers1796190290653 } from './1796190290653-WithdrawalFencingAndAnswers';
import { ReconciliationCorrectness1796191177160 } from './1796191177160-ReconciliationCorrectness';
import { SecurityHardening1796190827244 } from './1796190827244-SecurityHardening';
import { Notifications1796203304065 } from './1796203304065-Notifications';
import { ConsoleSignIn1796205560008 } from './1796205560008-ConsoleSignIn';
import { DualControl1796207911839 } from './1796207911839-DualControl';
import { KlearLiveApi1796209289599 } from './1796209289599-KlearLiveApi';
import { ConsoleTotpSealed1796215303535 } from './1796215303535-ConsoleTotpSealed';
import { BalanceHistoryOccurrence1796220000000 } from './1796220000000-BalanceHistoryOccurrence';
import { AuditCheckpoint1796227123662 } from './1796227123662-AuditCheckpoint';
import { AssetClassRuns1796228000000 } from './1796228000000-AssetClassRuns';
import { ProjectedRunsPerAssetClass1796229000000 } from './1796229000000-ProjectedRunsPerAssetClass';
import { FundingSummaries1796230000000 } from './1796230000000-FundingSummaries';
import { ReceiveReferenceIndex1796231000000 } from './1796231000000-ReceiveReferenceIndex';
import { CyclePartitions1796232000000 } from './1796232000000-CyclePartitions';
import { ReadRouteIndexes1796233000000 } from './1796233000000-ReadRouteIndexes';
import { AuthChangeNotify1796234000000 } from './1796234000000-AuthChangeNotify';
import { BreakFirstSeenRunIndex1796234100000 } from './1796234100000-BreakFirstSeenRunIndex';
import { ReversalIndexPartial1796234200000 } from './1796234200000-ReversalIndexPartial';
import { EntryPostingCount1796234300000 } from './1796234300000-EntryPostingCount';
import { LatestSubtraderFigures1796234400000 } from './1796234400000-LatestSubtraderFigures';
import { PostingCheckedOncePerEntry1796234500000 } from './1796234500000-PostingCheckedOncePerEntry';
import { FunctionsResolveOwnTables1796234600000 } from './1796234600000-FunctionsResolveOwnTables';
import { MonthsMadeBeforeTheirRows1796234700000 } from './1796234700000-MonthsMadeBeforeTheirRows';
import { PartitionNamesQualified1796234800000 } from './1796234800000-PartitionNamesQualified';
import { MonthMadeByOneOfTwo1796234900000 } from './1796234900000-MonthMadeByOneOfTwo';
import { ObservationsByCycle1796235000000 } from './1796235000000-ObservationsByCycle';
import { ObligationSettledByStored1796235100000 } from './1796235100000-ObligationSettledByStored';

/** Every migration, in order. `npm run cli -- db:migration:generate <Name>` appends here. */
export const ALL_MIGRATIONS: Function[] = [
  Foundation1795255369247,
  Ledger1795255604916,
  Secrets1795255642352,
  JobsAndKlearIngestion1795255857738,
  Reconciliation1795255967925,
  Withdrawals1795255984087,
  ExportFiles1795256148671,
  LedgerPostingAccountIndex1795258653861,
  MarginDetailSubtraderIndex1795259502495,
  ReconciliationSummaries1795262514328,
  WithdrawalFencingAndAnswers1796190290653,
  SecurityHardening1796190827244,
  ReconciliationCorrectness1796191177160,
  Notifications1796203304065,
  ConsoleSignIn1796205560008,
  DualControl1796207911839,
  KlearLiveApi1796209289599,
  ConsoleTotpSealed1796215303535,
  BalanceHistoryOccurrence1796220000000,
  AuditCheckpoint1796227123662,
  AssetClassRuns1796228000000,
  ProjectedRunsPerAssetClass1796229000000,
  FundingSummaries1796230000000,
  ReceiveReferenceIndex1796231000000,
  CyclePartitions1796232000000,
  ReadRouteIndexes1796233000000,
  AuthChangeNotify1796234000000,
  BreakFirstSeenRunIndex1796234100000,
  ReversalIndexPartial1796234200000,
  EntryPostingCount1796234300000,
  LatestSubtraderFigures1796234400000,
  PostingCheckedOncePerEntry1796234500000,
  FunctionsResolveOwnTables1796234600000,
  MonthsMadeBeforeTheirRows1796234700000,
  PartitionNamesQualified1796234800000,
  MonthMadeByOneOfTwo1796234900000,
  ObservationsByCycle1796235000000,
  ObligationSettledByStored1796235100000,
];
