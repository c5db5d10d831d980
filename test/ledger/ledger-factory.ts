import type { LedgerEntryInput } from '@app/ledger';
import ExcelJS from 'exceljs';

/** Small builders of valid entries (docs/ledger-and-breaks.md), amounts as bigint for readable tests. */
export const CYCLE = '2026-11-03T21:00:00.000Z';

export interface MarketFigure {
  ticker: string;
  pnl: bigint;
  fee: bigint;
}

export function tradeSettlement(externalId: string, subtrader: string, markets: MarketFigure[], cycle = CYCLE): LedgerEntryInput {
  const balancing = -markets.reduce((s, m) => s + m.pnl, 0n) + markets.reduce((s, m) => s + m.fee, 0n);
  return {
    external_id: externalId,
    entry_type: 'trade_settlement',
    effective_at: cycle,
    cycle,
    subtrader_id: subtrader,
    postings: [
      ...markets.flatMap((m) => [
        { account: 'trading_pnl', market_ticker: m.ticker, amount_centicents: m.pnl.toString() },
        { account: 'trading_fees', market_ticker: m.ticker, amount_centicents: (-m.fee).toString() },
      ]),
      { account: 'klear_settlement', amount_centicents: balancing.toString() },
    ],
  };
}

export function marginRequirement(externalId: string, subtrader: string, requirement: bigint, cycle = CYCLE): LedgerEntryInput {
  return {
    external_id: externalId,
    entry_type: 'margin_requirement',
    effective_at: cycle,
    cycle,
    subtrader_id: subtrader,
    postings: [
      { account: 'maintenance_margin', amount_centicents: requirement.toString() },
      { account: 'maintenance_margin_contra', amount_centicents: (-requirement).toString() },
    ],
  };
}

export function bufferMovement(
  externalId: string,
  amount: bigint,
  reference: string,
  effectiveAt = '2026-11-03T14:30:00-05:00',
): LedgerEntryInput {
  return {
    external_id: externalId,
    entry_type: 'buffer_movement',
    effective_at: effectiveAt,
    business_reference: reference,
    postings: [
      { account: 'settlement_buffer', amount_centicents: amount.toString() },
      { account: 'bank', amount_centicents: (-amount).toString() },
    ],
  };
}

/** The reversal of `original`: every posting negated, cycle and subtrader inherited. */
export function reversalOf(original: LedgerEntryInput, externalId: string): LedgerEntryInput {
  return {
    external_id: externalId,
    entry_type: 'reversal',
    effective_at: original.effective_at,
    reverses_external_id: original.external_id,
    postings: original.postings.map((p) => ({ ...p, amount_centicents: (-BigInt(p.amount_centicents)).toString() })),
  };
}

export const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

/** The import format's header (docs/ledger-and-breaks.md, "CSV / XLSX import"), without the optional asset_class. */
export const LEDGER_FILE_HEADER =
  'external_id,entry_type,effective_at,cycle,subtrader_id,business_reference,description,reverses_external_id,account,market_ticker,amount_centicents';

/** A CSV import file: the header, then one line per posting. */
export const ledgerCsv = (...rows: string[]): Buffer => Buffer.from([LEDGER_FILE_HEADER, ...rows].join('\n') + '\n');

/** An XLSX import file: the header row, then the rows' cells as given (numbers stay number cells). */
export async function ledgerXlsx(rows: unknown[][]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('entries');
  ws.addRow(LEDGER_FILE_HEADER.split(','));
  for (const row of rows) ws.addRow(row);
  return Buffer.from(await wb.xlsx.writeBuffer());
}
