import type ExcelJS from 'exceljs';
import { type Column, moneyPair, writeTable } from '../sheet-layout';
import { etDateTimeCell, textCell } from '../workbook-cells';
import { breakAgeDays, subtraderStatus } from '../workbook-day';
import type { BreakRow, BufferMovementRow, FundingRow, SubtraderRow, WithdrawalRow } from '../workbook-rows';

type Workbook = ExcelJS.stream.xlsx.WorkbookWriter;

export const SUBTRADERS_SHEET = 'Subtraders';
export const SUBTRADER_COLUMNS: Column<SubtraderRow>[] = [
  { header: 'Subtrader', kind: 'text', width: 24, value: (r) => textCell(r.subtraderId === '' ? '(empty)' : r.subtraderId) },
  {
    header: 'Known to',
    kind: 'text',
    width: 14,
    value: (r) =>
      r.knownToKlear && r.knownToLedger ? 'both' : r.knownToKlear ? 'Klear only' : r.knownToLedger ? 'ledger only' : 'breaks only',
  },
  ...moneyPair<SubtraderRow>('Klear pnl', (r) => r.klearPnl),
  ...moneyPair<SubtraderRow>('Internal pnl', (r) => r.internalPnl),
  ...moneyPair<SubtraderRow>('Pnl difference', (r) => r.klearPnl - r.internalPnl, true),
  ...moneyPair<SubtraderRow>('Klear fees', (r) => r.klearFees),
  ...moneyPair<SubtraderRow>('Internal fees', (r) => r.internalFees),
  ...moneyPair<SubtraderRow>('Fees difference', (r) => r.klearFees - r.internalFees, true),
  ...moneyPair<SubtraderRow>('Klear total', (r) => r.klearTotal),
  ...moneyPair<SubtraderRow>('Internal total', (r) => r.internalTotal),
  ...moneyPair<SubtraderRow>('Total difference', (r) => r.klearTotal - r.internalTotal, true),
  ...moneyPair<SubtraderRow>('Klear maintenance margin', (r) => r.klearMaintenanceMargin),
  ...moneyPair<SubtraderRow>('Internal maintenance margin', (r) => r.internalMaintenanceMargin),
  ...moneyPair<SubtraderRow>('Maintenance margin difference', (r) => r.klearMaintenanceMargin - r.internalMaintenanceMargin, true),
  { header: 'Breaks', kind: 'count', value: (r) => r.breakCount },
  { header: 'Open breaks', kind: 'count', value: (r) => r.openBreakCount },
  { header: 'Resolved breaks', kind: 'count', value: (r) => r.resolvedBreakCount },
  { header: 'Status', kind: 'text', width: 20, value: (r) => subtraderStatus(r) },
  { header: 'Group', kind: 'text', width: 16, value: (r) => textCell(r.groupId ?? null) },
];

export function writeSubtradersSheet(workbook: Workbook, rows: SubtraderRow[]): Promise<number> {
  return writeTable(workbook, SUBTRADERS_SHEET, SUBTRADER_COLUMNS, rows);
}

export const BREAKS_SHEET = 'Breaks';

/** The Breaks sheet's columns; ages count whole days from first seen to the close, or to the build. */
export function breakColumns(madeAt: Date): Column<BreakRow>[] {
  return [
    { header: 'Key', kind: 'text', width: 48, value: (b) => textCell(b.key) },
    { header: 'Check', kind: 'text', width: 20, value: (b) => b.check },
    { header: 'Reason', kind: 'text', width: 20, value: (b) => b.reasonCode },
    { header: 'Cycle (ET)', kind: 'datetime', value: (b) => etDateTimeCell(b.cycle) },
    { header: 'Subtrader', kind: 'text', width: 20, value: (b) => textCell(b.subtraderId === '' ? '(empty)' : b.subtraderId) },
    { header: 'Market', kind: 'text', width: 20, value: (b) => textCell(b.marketTicker) },
    { header: 'Reference', kind: 'text', width: 24, value: (b) => textCell(b.reference) },
    ...moneyPair<BreakRow>('Klear', (b) => b.klearCenticents),
    ...moneyPair<BreakRow>('Internal', (b) => b.internalCenticents),
    ...moneyPair<BreakRow>('Difference', (b) => b.differenceCenticents, true),
    ...moneyPair<BreakRow>('Pnl difference', (b) => b.pnlDifferenceCenticents, true),
    ...moneyPair<BreakRow>('Fees difference', (b) => b.feesDifferenceCenticents, true),
    { header: 'Status', kind: 'text', width: 18, value: (b) => b.status },
    { header: 'Listed because', kind: 'text', width: 18, value: (b) => b.listing },
    { header: 'Found by run', kind: 'text', width: 12, value: (b) => b.foundByRun },
    { header: 'Age (days)', kind: 'count', value: (b) => breakAgeDays(b, madeAt) },
    { header: 'Assignee', kind: 'text', width: 16, value: (b) => textCell(b.assignee) },
    { header: 'Last comment', kind: 'text', width: 50, value: (b) => textCell(b.lastComment) },
    { header: 'Resolution', kind: 'text', width: 40, value: (b) => textCell(b.resolution) },
    { header: 'First seen (ET)', kind: 'datetime', value: (b) => etDateTimeCell(b.firstSeenAt) },
    { header: 'Closed (ET)', kind: 'datetime', value: (b) => etDateTimeCell(b.closedAt) },
    { header: 'Closed by', kind: 'text', width: 24, value: (b) => textCell(b.closedBy) },
    { header: 'Break id', kind: 'text', width: 14, value: (b) => b.breakId },
  ];
}

export function writeBreaksSheet(workbook: Workbook, rows: BreakRow[], madeAt: Date): Promise<number> {
  return writeTable(workbook, BREAKS_SHEET, breakColumns(madeAt), rows);
}

export const FUNDING_SHEET = 'Funding';
export const FUNDING_COLUMNS: Column<FundingRow>[] = [
  { header: 'Cycle (ET)', kind: 'datetime', value: (f) => etDateTimeCell(f.cycle) },
  { header: 'Asset class', kind: 'text', width: 14, value: (f) => textCell(f.assetClass) },
  { header: 'Subtrader', kind: 'text', width: 20, value: (f) => textCell(f.subtraderId) },
  { header: 'Group', kind: 'text', width: 16, value: (f) => textCell(f.groupId) },
  { header: 'Market', kind: 'text', width: 24, value: (f) => textCell(f.marketTicker) },
  { header: 'Funding payments', kind: 'count', value: (f) => f.payments },
  ...moneyPair<FundingRow>('Klear funding', (f) => f.klearCenticents),
  ...moneyPair<FundingRow>('Internal funding', (f) => f.internalCenticents),
  ...moneyPair<FundingRow>('Difference', (f) => f.differenceCenticents, true),
  { header: 'Match', kind: 'text', width: 16, value: (f) => f.match },
];

export function writeFundingSheet(workbook: Workbook, rows: FundingRow[]): Promise<number> {
  return writeTable(workbook, FUNDING_SHEET, FUNDING_COLUMNS, rows);
}

export const BUFFER_SHEET = 'Buffer movements';
export const BUFFER_COLUMNS: Column<BufferMovementRow>[] = [
  { header: 'Klear time (ET)', kind: 'datetime', value: (m) => etDateTimeCell(m.createdTs) },
  { header: 'Business transaction id', kind: 'text', width: 30, value: (m) => textCell(m.businessTransactionId) },
  { header: 'Klear reason', kind: 'text', width: 18, value: (m) => textCell(m.reason) },
  ...moneyPair<BufferMovementRow>('Klear balance delta', (m) => m.klearDeltaCenticents),
  ...moneyPair<BufferMovementRow>('Klear locked delta', (m) => m.klearLockedDeltaCenticents),
  { header: 'Ledger entry', kind: 'text', width: 30, value: (m) => textCell(m.internalExternalId) },
  { header: 'Ledger effective (ET)', kind: 'datetime', value: (m) => etDateTimeCell(m.internalEffectiveAt) },
  { header: 'Ledger description', kind: 'text', width: 40, value: (m) => textCell(m.internalDescription) },
  ...moneyPair<BufferMovementRow>('Ledger amount', (m) => m.internalAmountCenticents),
  ...moneyPair<BufferMovementRow>('Difference', (m) => (m.klearDeltaCenticents ?? 0n) - (m.internalAmountCenticents ?? 0n), true),
  { header: 'Break key', kind: 'text', width: 40, value: (m) => textCell(m.breakKey) },
  { header: 'Break reason', kind: 'text', width: 18, value: (m) => textCell(m.breakReason) },
  { header: 'Break status', kind: 'text', width: 14, value: (m) => textCell(m.breakStatus) },
];

export function writeBufferMovementsSheet(workbook: Workbook, rows: BufferMovementRow[]): Promise<number> {
  return writeTable(workbook, BUFFER_SHEET, BUFFER_COLUMNS, rows);
}

export const WITHDRAWALS_SHEET = 'Withdrawals';
export const WITHDRAWAL_COLUMNS: Column<WithdrawalRow>[] = [
  { header: 'Request id', kind: 'text', width: 38, value: (w) => w.requestId },
  { header: 'Requested (ET)', kind: 'datetime', value: (w) => etDateTimeCell(w.createdAt) },
  { header: 'Requester', kind: 'text', width: 16, value: (w) => textCell(w.requesterName) },
  ...moneyPair<WithdrawalRow>('Amount', (w) => w.amountCenticents),
  { header: 'Purpose', kind: 'text', width: 40, value: (w) => textCell(w.purpose) },
  { header: 'State', kind: 'text', width: 16, value: (w) => w.state },
  { header: 'Approvals', kind: 'text', width: 60, value: (w) => textCell(w.approvals) },
  { header: 'Klear withdrawal id', kind: 'text', width: 24, value: (w) => textCell(w.klearWithdrawalId) },
  { header: 'Klear status', kind: 'text', width: 14, value: (w) => textCell(w.klearStatus) },
  { header: 'Submitted (ET)', kind: 'datetime', value: (w) => etDateTimeCell(w.submittedAt) },
  { header: 'Status history', kind: 'text', width: 90, value: (w) => textCell(w.history) },
];

export function writeWithdrawalsSheet(workbook: Workbook, rows: WithdrawalRow[]): Promise<number> {
  return writeTable(workbook, WITHDRAWALS_SHEET, WITHDRAWAL_COLUMNS, rows);
}
