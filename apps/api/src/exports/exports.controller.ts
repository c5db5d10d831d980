import { createReadStream } from 'node:fs';
import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, type Principal, Roles } from '@app/auth';
import { ExportsService } from '@app/exports';
import { decodeCursor, Expensive, PageQuery, toPage } from '@app/http';
import { ApiErrors, ApiPageResponse } from '../openapi';
import { CreateExportBody, exportFileView, ExportFileView } from './exports.dto';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

@ApiTags('exports')
@ApiBearerAuth()
@ApiErrors()
@Controller('exports')
export class ExportsController {
  constructor(private readonly exports: ExportsService) {}

  @Get()
  @Roles('viewer')
  @ApiPageResponse(ExportFileView)
  @ApiOperation({ summary: 'Daily reconciliation workbooks, newest day and version first' })
  async list(@Query() q: PageQuery) {
    const limit = q.limit ?? 50;
    const after = decodeCursor(q.cursor, ['date', 'int']);
    const rows = await this.exports.list(limit + 1, after ? { date: after[0], version: Number(after[1]) } : undefined);
    return toPage(rows, limit, (r) => [r.settlementDate, r.version], exportFileView);
  }

  @Post()
  @HttpCode(201)
  @Roles('operator')
  @Expensive()
  @ApiOperation({ summary: 'Build the workbook of a settlement day now (a rebuild is a new version)' })
  @ApiOkResponse({ type: ExportFileView })
  async create(@Body() body: CreateExportBody, @CurrentPrincipal() principal: Principal): Promise<ExportFileView> {
    return exportFileView(await this.exports.build(body.date, principal.name));
  }

  @Get(':id/file')
  @Roles('viewer')
  @ApiOperation({ summary: 'Download a workbook (xlsx), named klear-recon-YYYY-MM-DD.xlsx (-vN for rebuilds)' })
  @ApiProduces(XLSX)
  @ApiOkResponse({ description: 'the workbook', content: { [XLSX]: { schema: { type: 'string', format: 'binary' } } } })
  async file(@Param('id', new ParseUUIDPipe()) id: string): Promise<StreamableFile> {
    const { file, path, size } = await this.exports.fileOf(id);
    return new StreamableFile(createReadStream(path), {
      type: XLSX,
      length: size,
      disposition: `attachment; filename="${file.fileName}"`,
    });
  }
}
