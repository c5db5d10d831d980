import { Body, Controller, Get, HttpCode, Post, Query, UploadedFile, UseInterceptors } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, type Principal, Roles } from '@app/auth';
import { decodeCursor, Expensive, InvalidInput, LargeJsonBody, toPage } from '@app/http';
import { LedgerService } from '@app/ledger';
import { ApiErrors } from '../openapi';
import { journalEntryView, LedgerEntriesQuery, LedgerImportQuery, LedgerImportView, PostedLedgerBatchView, PostLedgerEntriesBody } from './ledger.dto';
import { LedgerUploadInterceptor } from './ledger-upload.interceptor';


/** Entries are as large as their postings (a trade settlement has two per market): pages are bounded by both. */
export const MAX_PAGE_POSTINGS = 400;

@ApiTags('ledger')
@ApiBearerAuth()
@ApiErrors()
@Controller('ledger')
export class LedgerController {
  constructor(private readonly ledger: LedgerService) {}

  @Post('entries')
  @HttpCode(200)
  @Roles('operator')
  @LargeJsonBody()
  @Expensive()
  @ApiOperation({
    summary: 'Post journal entries: up to 10,000 in one transaction, idempotent by external_id',
    description: 'Same external_id and content: unchanged. Different content: 409 LEDGER_ENTRY_CONFLICT. Any invalid entry: 400 naming each field; nothing is written.',
  })
  @ApiOkResponse({ type: PostedLedgerBatchView })
  post(@Body() body: PostLedgerEntriesBody, @CurrentPrincipal() who: Principal) {
    return this.ledger.post(body.entries, who.name, body);
  }

  @Get('entries')
  @Roles('viewer')
  @ApiOperation({
    summary: 'Journal entries with their postings, in ledger order; filter by subtrader, cycle, entry_type, external_id',
    description: `A page holds at most \`limit\` entries and stops early once it holds ${MAX_PAGE_POSTINGS} postings (always at least one entry); follow next_cursor.`,
  })
  async list(@Query() q: LedgerEntriesQuery) {
    const limit = q.limit ?? 50;
    const after = decodeCursor(q.cursor, ['int'])?.[0];
    const rows = await this.ledger.list({ subtraderId: q.subtrader, cycle: q.cycle, entryType: q.entry_type, externalId: q.external_id, afterSeq: after, limit: limit + 1, maxPostings: MAX_PAGE_POSTINGS });
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
      'Answers with counts and every rejected row (line number, header = 1, and reason). Any rejected row: 400 LEDGER_IMPORT_REJECTED and nothing imported, unless ?partial=true (then entries having an invalid row are rejected whole). Over LEDGER_IMPORT_MAX_BYTES: 413.',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({ schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', format: 'binary' } } } })
  @ApiOkResponse({ type: LedgerImportView })
  @ApiResponse({ status: 413, description: 'the file is larger than LEDGER_IMPORT_MAX_BYTES' })
  async import(@UploadedFile() file: { path: string; originalname: string } | undefined, @Query() q: LedgerImportQuery, @CurrentPrincipal() who: Principal) {
    if (!file) throw new InvalidInput('file: send the CSV or XLSX in the multipart field "file"', [{ field: 'file', problems: ['is required'] }]);
    return this.ledger.importFile({ path: file.path, fileName: file.originalname, partial: q.partial === 'true', actor: who.name });
  }
}

function entriesWithinPostingBudget(rows: Array<{ postingCount: number }>, limit: number): number {
  let postings = 0;
  for (let i = 0; i < Math.min(rows.length, limit); i++) {
    postings += rows[i].postingCount;
    if (postings > MAX_PAGE_POSTINGS && i > 0) return i;
  }
  return Math.min(rows.length, limit);
}
