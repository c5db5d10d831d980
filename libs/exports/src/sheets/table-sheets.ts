import type ExcelJS from 'exceljs';
import { moneyColumns, TableSheet, type SheetColumn } from '../sheet-layout';
import { centicentsCell, etDateTimeCell, textCell, usdCell } from '../workbook-cells';
import type { BreakRow, BufferMovementRow, SubtraderRow, WithdrawalRow } from '../workbook-rows';

type Workbook = ExcelJS.stream.xlsx.WorkbookWriter;
const money = (c: bigint | null) => [usdCell(c), centicentsCell(c)];
const DAY_MS = 86_400_000;

export const SUBTRADERS_SHEET = 'Subtraders';
export const SUBTRADER_COLUMNS: SheetColumn[] = [
  { header: 'Subtrader', kind: 'text', width: 24 },
  { header: 'Known to', kind: 'text', width: 14 },
  ...moneyColumns('Klear pnl'),
  ...moneyColumns('Internal pnl'),
  ...moneyColumns('Pnl difference', true),
  ...moneyColumns('Klear fees'),
  ...moneyColumns('Internal fees'),
  ...moneyColumns('Fees difference', true),
  ...moneyColumns('Klear total'),
  ...moneyColumns('Internal total'),
  ...moneyColumns('Total difference', true),
  ...moneyColumns('Klear maintenance margin'),
  ...moneyColumns('Internal maintenance margin'),
  ...moneyColumns('Maintenance margin difference', true),
  { header: 'Breaks', kind: 'count' },
  { header: 'Open breaks', kind: 'count' },
  { header: 'Status', kind: 'text', width: 12 },
];

export async function writeSubtradersSheet(workbook: Workbook, rows: SubtraderRow[]): Promise<number> {
  const t = TableSheet.open(workbook, SUBTRADERS_SHEET, SUBTRADER_COLUMNS);
  for (const r of rows) {
    const known = r.knownToKlear && r.knownToLedger ? 'both' : r.knownToKlear ? 'Klear only' : 'ledger only';
    const differs = r.klearTotal !== r.internalTotal || r.klearPnl !== r.internalPnl || r.klearFees !== r.internalFees || r.klearMaintenanceMargin !== r.internalMaintenanceMargin;
    t.add([
      textCell(r.subtraderId === '' ? '(empty)' : r.subtraderId),
      known,
      ...money(r.klearPnl), ...money(r.internalPnl), ...money(r.klearPnl - r.internalPnl),
      ...money(r.klearFees), ...money(r.internalFees), ...money(r.klearFees - r.internalFees),
      ...money(r.klearTotal), ...money(r.internalTotal), ...money(r.klearTotal - r.internalTotal),
      ...money(r.klearMaintenanceMargin), ...money(r.internalMaintenanceMargin), ...money(r.klearMaintenanceMargin - r.internalMaintenanceMargin),
      r.breakCount,
      r.openBreakCount,
      r.openBreakCount > 0 || differs ? 'break' : 'ok',
    ]);
  }
  await t.close();
  return rows.length;
}

export const BREAKS_SHEET = 'Breaks';
export const BREAK_COLUMNS: SheetColumn[] = [
  { header: 'Key', kind: 'text', width: 48 },
  { header: 'Check', kind: 'text', width: 20 },
  { header: 'Reason', kind: 'text', width: 20 },
  { header: 'Cycle (ET)', kind: 'datetime' },
  { header: 'Subtrader', kind: 'text', width: 20 },
  { header: 'Market', kind: 'text', width: 20 },
  ...moneyColumns('Klear'),
  ...moneyColumns('Internal'),
  ...moneyColumns('Difference', true),
  { header: 'Age (days)', kind: 'count' },
  { header: 'Status', kind: 'text', width: 14 },
  { header: 'Today', kind: 'text', width: 14 },
  { header: 'Assignee', kind: 'text', width: 16 },
  { header: 'Last comment', kind: 'text', width: 50 },
  { header: 'First seen (ET)', kind: 'datetime' },
  { header: 'Closed (ET)', kind: 'datetime' },
  { header: 'Break id', kind: 'text', width: 38 },
];

/** Age: whole days from first seen to its close, or to `asOf` (the end of the day, or now for today). */
export async function writeBreaksSheet(workbook: Workbook, rows: BreakRow[], asOf: Date): Promise<number> {
  const t = TableSheet.open(workbook, BREAKS_SHEET, BREAK_COLUMNS);
  for (const b of rows) {
    const until = b.closedAt ?? asOf;
    t.add([
      textCell(b.key), b.check, b.reasonCode, etDateTimeCell(b.cycle), textCell(b.subtraderId), textCell(b.marketTicker),
      ...money(b.klearCenticents), ...money(b.internalCenticents), ...money(b.differenceCenticents),
      Math.max(0, Math.floor((until.getTime() - b.firstSeenAt.getTime()) / DAY_MS)),
      b.status, b.dayStatus, textCell(b.assignee), textCell(b.lastComment), etDateTimeCell(b.firstSeenAt), etDateTimeCell(b.closedAt), b.breakId,
    ]);
  }
  await t.close();
  return rows.length;
}

export const BUFFER_SHEET = 'Buffer movements';
export const BUFFER_COLUMNS: SheetColumn[] = [
  { header: 'Klear time (ET)', kind: 'datetime' },
  { header: 'Business transaction id', kind: 'text', width: 30 },
  { header: 'Klear reason', kind: 'text', width: 18 },
  ...moneyColumns('Klear balance delta'),
  ...moneyColumns('Klear locked delta'),
  { header: 'Ledger entry', kind: 'text', width: 30 },
  { header: 'Ledger effective (ET)', kind: 'datetime' },
  { header: 'Ledger description', kind: 'text', width: 40 },
  ...moneyColumns('Ledger amount'),
  ...moneyColumns('Difference', true),
  { header: 'Break key', kind: 'text', width: 40 },
  { header: 'Break reason', kind: 'text', width: 18 },
  { header: 'Break status', kind: 'text', width: 14 },
];

export async function writeBufferMovementsSheet(workbook: Workbook, rows: BufferMovementRow[]): Promise<number> {
  const t = TableSheet.open(workbook, BUFFER_SHEET, BUFFER_COLUMNS);
  for (const m of rows) {
    const difference = (m.klearDeltaCenticents ?? 0n) - (m.internalAmountCenticents ?? 0n);
    t.add([
      etDateTimeCell(m.createdTs), textCell(m.businessTransactionId), textCell(m.reason),
      ...money(m.klearDeltaCenticents), ...money(m.klearLockedDeltaCenticents),
      textCell(m.internalExternalId), etDateTimeCell(m.internalEffectiveAt), textCell(m.internalDescription), ...money(m.internalAmountCenticents),
      ...money(difference), textCell(m.breakKey), textCell(m.breakReason), textCell(m.breakStatus),
    ]);
  }
  await t.close();
  return rows.length;
}

export const WITHDRAWALS_SHEET = 'Withdrawals';
export const WITHDRAWAL_COLUMNS: SheetColumn[] = [
  { header: 'Request id', kind: 'text', width: 38 },
  { header: 'Requested (ET)', kind: 'datetime' },
  { header: 'Requester', kind: 'text', width: 16 },
  ...moneyColumns('Amount'),
  { header: 'Purpose', kind: 'text', width: 40 },
  { header: 'State', kind: 'text', width: 16 },
  { header: 'Approvals', kind: 'text', width: 60 },
  { header: 'Klear withdrawal id', kind: 'text', width: 24 },
  { header: 'Klear status', kind: 'text', width: 14 },
  { header: 'Submitted (ET)', kind: 'datetime' },
  { header: 'Status history', kind: 'text', width: 90 },
];

export async function writeWithdrawalsSheet(workbook: Workbook, rows: WithdrawalRow[]): Promise<number> {
  const t = TableSheet.open(workbook, WITHDRAWALS_SHEET, WITHDRAWAL_COLUMNS);
  for (const w of rows) {
    t.add([
      w.requestId, etDateTimeCell(w.createdAt), textCell(w.requesterName), ...money(w.amountCenticents), textCell(w.purpose), w.state,
      textCell(w.approvals), textCell(w.klearWithdrawalId), textCell(w.klearStatus), etDateTimeCell(w.submittedAt), textCell(w.history),
    ]);
  }
  await t.close();
  return rows.length;
}
