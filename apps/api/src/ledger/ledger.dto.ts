import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsOptional,
  IsRFC3339,
  IsString,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { PageQuery } from '@app/http';
import {
  ACCOUNTS,
  ENTRY_TYPES,
  LEDGER_ID_PATTERN,
  MAX_DESCRIPTION_LENGTH,
  MAX_ENTRIES_PER_BATCH,
  MAX_POSTINGS_PER_ENTRY,
  MAX_REFERENCE_LENGTH,
  SUBTRADER_ID_PATTERN,
  type LedgerEntryInput,
  type LedgerImportReport,
  type LedgerImportRow,
  rejectionsReportPath,
  type LedgerPostingInput,
  type PostedBatch,
  type StoredJournalEntry,
} from '@app/ledger';
import { centicentsToDecimalString, formatUsdExact, IsCenticentsString } from '@app/money';

const ID_MESSAGE = '1-128 characters (letters, digits, . _ : / -) starting with a letter or digit';

export class LedgerPostingBody implements LedgerPostingInput {
  @ApiProperty({ enum: ACCOUNTS, example: 'trading_pnl' })
  @IsIn(ACCOUNTS)
  account: string;

  @ApiPropertyOptional({
    example: 'BTC-PERP-001',
    description: 'required on trading_pnl, trading_fees and funding, absent on other accounts',
  })
  @IsOptional()
  @IsString()
  @Matches(LEDGER_ID_PATTERN, { message: `market_ticker must be ${ID_MESSAGE}` })
  market_ticker?: string | null;

  @ApiProperty({ example: '-1250000', description: 'integer centicents as a decimal string (a JSON number is refused)' })
  @IsCenticentsString()
  amount_centicents: string;
}

export class LedgerEntryBody implements LedgerEntryInput {
  @ApiProperty({ example: 'TS-2026-11-03-ST-00001', description: `idempotency key and business id: ${ID_MESSAGE}` })
  @IsString()
  @Matches(LEDGER_ID_PATTERN, { message: `external_id must be ${ID_MESSAGE}` })
  external_id: string;

  @ApiProperty({ enum: ENTRY_TYPES })
  @IsIn(ENTRY_TYPES)
  entry_type: string;

  @ApiProperty({ example: '2026-11-03T21:00:00Z', description: 'RFC 3339 date-time with offset' })
  @IsString()
  @IsRFC3339()
  effective_at: string;

  @ApiPropertyOptional({ example: '2026-11-03T21:00:00Z', description: 'the settlement cycle (Klear execution_time)' })
  @IsOptional()
  @IsString()
  @IsRFC3339()
  cycle?: string | null;

  @ApiPropertyOptional({ example: 'ST-00001' })
  @IsOptional()
  @IsString()
  @Matches(SUBTRADER_ID_PATTERN, {
    message: 'subtrader_id must be 1-128 characters (letters, digits, . _ : / - @) starting with a letter or digit',
  })
  subtrader_id?: string | null;

  @ApiPropertyOptional({ example: 'Equity', description: 'the asset class the entry books (each reconciles on its own); absent is Crypto' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, { message: 'asset_class must be an asset class name such as Crypto' })
  asset_class?: string | null;

  @ApiPropertyOptional({ description: "buffer movements: the reference the SCM knows (Klear's business_transaction_id when known)" })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_REFERENCE_LENGTH)
  business_reference?: string | null;

  @ApiPropertyOptional({ description: 'free text, never interpreted' })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_DESCRIPTION_LENGTH)
  description?: string | null;

  @ApiPropertyOptional({ description: 'reversal only: the external_id of the entry it reverses' })
  @IsOptional()
  @IsString()
  @Matches(LEDGER_ID_PATTERN, { message: `reverses_external_id must be ${ID_MESSAGE}` })
  reverses_external_id?: string | null;

  @ApiProperty({ type: [LedgerPostingBody], description: 'at least two, summing to zero' })
  @IsArray()
  @ArrayMinSize(2, { message: 'an entry needs at least two postings (double entry)' })
  @ArrayMaxSize(MAX_POSTINGS_PER_ENTRY)
  @ValidateNested({ each: true })
  @Type(() => LedgerPostingBody)
  postings: LedgerPostingBody[];
}

export class PostLedgerEntriesBody {
  @ApiProperty({
    type: [LedgerEntryBody],
    description: `1 to ${MAX_ENTRIES_PER_BATCH} entries, posted in one transaction (all or nothing)`,
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_ENTRIES_PER_BATCH)
  @ValidateNested({ each: true })
  @Type(() => LedgerEntryBody)
  entries: LedgerEntryBody[];
}

export class LedgerEntriesQuery extends PageQuery {
  @ApiPropertyOptional({ example: 'ST-00001' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  subtrader?: string;

  @ApiPropertyOptional({ example: '2026-11-03T21:00:00Z' })
  @IsOptional()
  @IsRFC3339()
  cycle?: string;

  @ApiPropertyOptional({ enum: ENTRY_TYPES })
  @IsOptional()
  @IsIn(ENTRY_TYPES)
  entry_type?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(128)
  external_id?: string;
}

export class LedgerImportQuery {
  @ApiPropertyOptional({ enum: ['true', 'false'], description: 'import the valid entries; reject only entries having an invalid row' })
  @IsOptional()
  @IsIn(['true', 'false'])
  partial?: string;
}

export class PostedLedgerEntryView {
  @ApiProperty({ example: 0, description: "the entry's position in the batch" }) index: number;
  @ApiProperty({ example: 'buffer/bt-deposit-1' }) external_id: string;
  @ApiProperty({ example: '1042' }) ledger_seq: string;
  @ApiProperty({ enum: ['created', 'unchanged'] }) status: 'created' | 'unchanged';
}

export class PostedLedgerBatchView {
  @ApiProperty({ example: 3 }) created: number;
  @ApiProperty({ example: 0 }) unchanged: number;
  @ApiProperty({ type: [PostedLedgerEntryView] }) entries: PostedBatch['entries'];
}

export class RejectedRowView {
  @ApiProperty({ example: 7, description: 'line number, the header being line 1' }) line: number;
  @ApiProperty({ type: String, nullable: true, example: 'trade/2026-11-03/ST-00001' }) external_id: string | null;
  @ApiProperty({ example: 'INVALID_AMOUNT' }) code: string;
  @ApiProperty({ example: 'amount_centicents is not a whole number of centicents' }) reason: string;
}

export class LedgerImportView {
  @ApiProperty() import_id: string;
  @ApiProperty({ example: 'entries-2026-11-03.csv' }) file_name: string;
  @ApiProperty({ description: "the file's SHA-256 (hex)" }) sha256: string;
  @ApiProperty({ example: 48213 }) size_bytes: number;
  @ApiProperty({ enum: ['csv', 'xlsx'] }) format: string;
  @ApiProperty({ description: 'imported with ?partial=true' }) partial: boolean;
  @ApiProperty({ enum: ['imported', 'partially_imported', 'rejected'] }) status: string;
  @ApiProperty() rows: number;
  @ApiProperty() entries: number;
  @ApiProperty() created: number;
  @ApiProperty() unchanged: number;
  @ApiProperty() rejected_entries: number;
  @ApiProperty() rejected_row_count: number;
  @ApiProperty({ type: [RejectedRowView], description: 'the first 1,000 rejected rows' })
  rejected_rows: LedgerImportReport['rejected_rows'];
  @ApiProperty({ description: 'true when rejected_rows holds only the first 1,000: the report has them all' })
  rejected_rows_truncated: boolean;
  @ApiProperty({ nullable: true, type: String, description: 'GET this path for every rejected row as CSV' }) rejections_report:
    string | null;
}

export class LedgerImportRecordView {
  @ApiProperty({ format: 'uuid' }) import_id: string;
  @ApiProperty({ example: 'entries-2026-11-03.csv' }) file_name: string;
  @ApiProperty({ type: String, nullable: true, description: "the file's SHA-256 (null when it was refused before being read)" }) sha256:
    string | null;
  @ApiProperty({ example: 48213 }) size_bytes: number;
  @ApiProperty({ type: String, nullable: true, enum: ['csv', 'xlsx'] }) format: string | null;
  @ApiProperty() partial: boolean;
  @ApiProperty({ enum: ['imported', 'partially_imported', 'rejected', 'refused'] }) status: string;
  @ApiProperty({ type: String, nullable: true, example: 'LEDGER_IMPORT_TOO_LARGE' }) refusal_code: string | null;
  @ApiProperty({ example: 0 }) rows: number;
  @ApiProperty({ example: 0 }) entries: number;
  @ApiProperty({ example: 0 }) created: number;
  @ApiProperty({ example: 0 }) unchanged: number;
  @ApiProperty({ example: 0 }) rejected_entries: number;
  @ApiProperty({ example: 0 }) rejected_row_count: number;
  @ApiProperty({ type: String, nullable: true, description: 'GET this path for every rejected row as CSV' }) rejections_report:
    string | null;
  @ApiProperty({ example: 'demo-operator' }) created_by: string;
  @ApiProperty({ format: 'date-time' }) created_at: string;
}

export function ledgerImportRecordView(r: LedgerImportRow): LedgerImportRecordView {
  return {
    import_id: r.id,
    file_name: r.file_name,
    sha256: r.sha256,
    size_bytes: Number(r.size_bytes),
    format: r.format,
    partial: r.partial,
    status: r.status,
    refusal_code: r.refusal_code,
    rows: r.row_count,
    entries: r.entry_count,
    created: r.created_count,
    unchanged: r.unchanged_count,
    rejected_entries: r.rejected_entry_count,
    rejected_row_count: r.rejected_row_count,
    rejections_report: r.rejection_count > 0 ? rejectionsReportPath(r.id) : null,
    created_by: r.created_by,
    created_at: r.created_at.toISOString(),
  };
}

export class JournalPostingView {
  @ApiProperty({ example: 'subtrader:ST-00001:pnl' }) account: string;
  @ApiProperty({ type: String, nullable: true, example: 'BTC-PERP' }) market_ticker: string | null;
  @ApiProperty({ example: '-120000', description: 'centicents, decimal string' }) amount_centicents: string;
  @ApiProperty({ example: '-$12.0000' }) amount_usd: string;
}

export class JournalEntryView {
  @ApiProperty({ example: '1042' }) ledger_seq: string;
  @ApiProperty({ example: 'trade/2026-11-03/ST-00001' }) external_id: string;
  @ApiProperty({ example: 'trade' }) entry_type: string;
  @ApiProperty({ format: 'date-time' }) effective_at: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time', description: 'the settlement cycle it books into' }) cycle:
    string | null;
  @ApiProperty({ type: String, nullable: true, example: 'ST-00001' }) subtrader_id: string | null;
  @ApiProperty({ example: 'Crypto' }) asset_class: string;
  @ApiProperty({ type: String, nullable: true }) business_reference: string | null;
  @ApiProperty({ type: String, nullable: true }) description: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'the entry this one reverses' }) reverses_external_id: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'the entry that reverses this one' }) reversed_by_external_id: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'uuid', description: 'the file import it came from' }) import_id: string | null;
  @ApiProperty({ example: 'demo-operator' }) created_by: string;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty({ type: [JournalPostingView] }) postings: JournalPostingView[];
}

export function journalEntryView(e: StoredJournalEntry): JournalEntryView {
  return {
    ledger_seq: e.ledgerSeq,
    external_id: e.externalId,
    entry_type: e.entryType,
    effective_at: e.effectiveAt,
    cycle: e.cycle,
    subtrader_id: e.subtraderId,
    asset_class: e.assetClass,
    business_reference: e.businessReference,
    description: e.description,
    reverses_external_id: e.reversesExternalId,
    reversed_by_external_id: e.reversedBy,
    import_id: e.importId,
    created_by: e.createdBy,
    created_at: e.createdAt,
    postings: e.postings.map((p) => ({
      account: p.account,
      market_ticker: p.marketTicker,
      amount_centicents: centicentsToDecimalString(p.amount),
      amount_usd: formatUsdExact(p.amount),
    })),
  };
}
