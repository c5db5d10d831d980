import {
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  StreamableFile,
  UploadedFile,
  UseInterceptors,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { CurrentPrincipal, type Principal, Roles } from '@app/auth';
import { InvalidInput } from '@app/errors';
import { decodeCursor, Expensive, LargeJsonBody, PageQuery, toPage } from '@app/http';
import { LedgerService } from '@app/ledger';
import { ApiErrors, ApiPageResponse } from '../openapi';
import {
  JournalEntryView,
  journalEntryView,
  LedgerEntriesQuery,
  LedgerImportRecordView,
  ledgerImportRecordView,
  LedgerImportQuery,
  LedgerImportView,
  PostedLedgerBatchView,
  PostLedgerEntriesBody,
} from './ledger.dto';
import { LedgerUploadInterceptor } from './ledger-upload.interceptor';

/**
 * Entries are as large as their postings (a trade settlement has two per market): pages are bounded by both.
 * 200: one trade settlement of the growth world (~140 postings, 15 KB) a page; at 400 a page of two of them
 * cost 3.6-3.8x the p99 of GET /health/live under load (issue 18, growth run I).
 */
export const MAX_PAGE_POSTINGS = 200;

@ApiTags('ledger')
@ApiBearerAuth()
@ApiErrors()
@Controller('ledger')
export class LedgerController {
  constructor(
    private readonly ledger: LedgerService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('entries')
  @HttpCode(200)
  @Roles('operator')
  @LargeJsonBody()
  @Expensive()
  @ApiOperation({
    summary: 'Post journal entries: up to 10,000 in one transaction, idempotent by external_id',
    description:
      'Same external_id and content: unchanged. Different content: 409 LEDGER_ENTRY_CONFLICT. Any invalid entry: 400 naming each field; nothing is written.',
  })
  @ApiOkResponse({ type: PostedLedgerBatchView })
  post(@Body() body: PostLedgerEntriesBody, @CurrentPrincipal() who: Principal) {
    return this.ledger.post(body.entries, who.name, body);
  }

  @Get('entries')
  @Roles('viewer')
  @ApiPageResponse(JournalEntryView)
  @ApiOperation({
    summary: 'Journal entries with their postings, in ledger order; filter by subtrader, cycle, entry_type, external_id',
    description: `A page holds at most \`limit\` entries and stops early once it holds ${MAX_PAGE_POSTINGS} postings (always at least one entry); follow next_cursor.`,
  })
  async list(@Query() q: LedgerEntriesQuery) {
    const limit = q.limit ?? 50;
    const after = decodeCursor(q.cursor, ['int'])?.[0];
    const rows = await this.ledger.list({
      subtraderId: q.subtrader,
      cycle: q.cycle,
      entryType: q.entry_type,
      externalId: q.external_id,
      afterSeq: after,
      limit: limit + 1,
      maxPostings: MAX_PAGE_POSTINGS,
    });
    return toPage(rows, entriesWithinPostingBudget(rows, limit), (r) => [r.ledgerSeq], journalEntryView);
  }

  @Post('imports')
  @HttpCode(200)
  @Roles('operator')
  @Expensive()
  @UseInterceptors(LedgerUploadInterceptor)
  @ApiOperation({
    summary: 'Import a CSV or XLSX file of journal entries (one row per posting, docs/ledger-and-breaks.md)',
    description:
      'Answers with counts and the first 1,000 rejected rows (line number, header = 1, and reason); all of them are in `rejections_report` (CSV). Any rejected row: 400 LEDGER_IMPORT_REJECTED and nothing imported, unless ?partial=true (then entries having an invalid row are rejected whole). 413 over LEDGER_IMPORT_MAX_BYTES, LEDGER_IMPORT_MAX_ROWS or (XLSX) LEDGER_IMPORT_MAX_UNCOMPRESSED_BYTES, naming the limit. Every attempt, refused ones included, is recorded (GET /ledger/imports/{id}) and audited.',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({ schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', format: 'binary' } } } })
  @ApiOkResponse({ type: LedgerImportView })
  @ApiResponse({
    status: 413,
    description:
      'the file passes LEDGER_IMPORT_MAX_BYTES, LEDGER_IMPORT_MAX_ROWS or LEDGER_IMPORT_MAX_UNCOMPRESSED_BYTES (details.limit names it)',
  })
  async import(
    @UploadedFile() file: { path: string; originalname: string } | undefined,
    @Query() q: LedgerImportQuery,
    @CurrentPrincipal() who: Principal,
  ) {
    if (!file)
      throw new InvalidInput('file: send the CSV or XLSX in the multipart field "file"', [{ field: 'file', problems: ['is required'] }]);
    const { importMaxRows, importMaxUncompressedBytes } = this.config.ledger;
    return this.ledger.importFile({
      path: file.path,
      fileName: file.originalname,
      partial: q.partial === 'true',
      actor: who.name,
      limits: { maxRows: importMaxRows, maxUncompressedBytes: importMaxUncompressedBytes },
    });
  }

  @Get('imports')
  @Roles('viewer')
  @ApiPageResponse(LedgerImportRecordView)
  @ApiOperation({ summary: 'Every import attempt, newest first (refused ones included): file, SHA-256, status, counts, who and when' })
  async imports(@Query() q: PageQuery) {
    const limit = q.limit ?? 50;
    const before = decodeCursor(q.cursor, ['int', 'uuid']);
    const rows = await this.ledger.listImports(limit + 1, before ? { createdAtUs: before[0], id: before[1] } : undefined);
    return toPage(rows, limit, (r) => [r.created_at_us, r.id], ledgerImportRecordView);
  }

  @Get('imports/:id')
  @Roles('viewer')
  @ApiOkResponse({ type: LedgerImportRecordView })
  @ApiOperation({
    summary:
      'One import attempt as recorded: file, SHA-256, status (imported, partially_imported, rejected, refused), counts, refusal code',
  })
  async importRecord(@Param('id', new ParseUUIDPipe()) id: string) {
    return ledgerImportRecordView(await this.ledger.getImport(id));
  }

  @Get('imports/:id/rejections')
  @Roles('viewer')
  @ApiProduces('text/csv')
  @ApiOkResponse({
    description: 'CSV: line, external_id, code, reason',
    content: { 'text/csv': { schema: { type: 'string', format: 'binary' } } },
  })
  @ApiOperation({
    summary:
      "Every rejected row of an import as CSV (line, external_id, code, reason), however many; cells that start like a formula are prefixed with '",
  })
  async rejections(@Param('id', new ParseUUIDPipe()) id: string): Promise<StreamableFile> {
    const { stream } = await this.ledger.rejectionsCsv(id);
    return new StreamableFile(stream, {
      type: 'text/csv; charset=utf-8',
      disposition: `attachment; filename="ledger-import-${id}-rejections.csv"`,
    });
  }
}

function entriesWithinPostingBudget(rows: Array<{ pastBudget?: boolean }>, limit: number): number {
  const past = rows.findIndex((r) => r.pastBudget);
  return Math.min(past === -1 ? rows.length : past, limit);
}
