import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';
import type { ExportFile } from '@app/db';

export class CreateExportBody {
  @ApiProperty({ example: '2026-11-03', description: 'the settlement day (America/New_York), YYYY-MM-DD' })
  @IsString()
  @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'date must be YYYY-MM-DD' })
  date: string;
}

export class ExportFileView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: '2026-11-03' }) date: string;
  @ApiProperty({ example: 1, description: '1 for the first build of the day, +1 per rebuild' }) version: number;
  @ApiProperty({ example: 'klear-recon-2026-11-03.xlsx' }) file_name: string;
  @ApiProperty({ example: '48213', description: 'bytes, decimal string' }) size_bytes: string;
  @ApiProperty({ example: 'e3b0c442...' }) sha256: string;
  @ApiProperty({ type: [String], description: 'reconciliation runs the breaks came from, one per reconciled cycle' })
  reconciliation_run_ids: string[];
  @ApiProperty({ example: { Summary: 40, 'Settlement details': 1000000 } }) row_counts: Record<string, number>;
  @ApiProperty({ example: 'alice' }) created_by: string;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty({ example: '/exports/8c0a.../file' }) download_url: string;
}

export function exportFileView(f: ExportFile): ExportFileView {
  return {
    id: f.id,
    date: f.settlementDate,
    version: f.version,
    file_name: f.fileName,
    size_bytes: f.sizeBytes,
    sha256: f.sha256,
    reconciliation_run_ids: f.reconciliationRunIds,
    row_counts: f.rowCounts,
    created_by: f.createdBy,
    created_at: f.createdAt.toISOString(),
    download_url: `/exports/${f.id}/file`,
  };
}
