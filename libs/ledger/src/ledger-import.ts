import type { AuditService } from '@app/audit';
import type { EntryProblem, JournalEntryDraft } from './journal-entry-input';
import { validateJournalEntry } from './journal-entry-rules';
import { planJournalBatch, seqRange } from './ledger-batch-plan';
import { LedgerImportLimitExceeded, LedgerImportRejected, LedgerImportUnsupported } from './ledger-errors';
import { LedgerFileAssembler, problemLine, type RejectedRow } from './ledger-file-entries';
import {
  fingerprintLedgerFile,
  type LedgerFileLimits,
  LedgerFileUnreadable,
  readLedgerFile,
  type LedgerFileFormat,
} from './ledger-file-reader';
import type { LedgerRepository, NewLedgerImport } from './ledger.repository';

export interface LedgerImportRequest {
  /** The upload, stored on disk by the HTTP layer (which removes it afterwards). */
  path: string;
  fileName: string;
  /** Import the valid entries and reject only entries having an invalid row. */
  partial: boolean;
  actor: string;
  limits: LedgerFileLimits;
}

/** An attempt refused before (or while) its file was read: recorded and audited all the same. */
export interface RefusedLedgerImport {
  fileName: string;
  sizeBytes: number;
  partial: boolean;
  actor: string;
  /** The error answered: its code and message are recorded. */
  error: { code: string; message: string };
  sha256?: string | null;
  format?: LedgerFileFormat | null;
  rows?: number;
}

export interface LedgerImportReport {
  import_id: string;
  file_name: string;
  sha256: string;
  size_bytes: number;
  format: LedgerFileFormat;
  partial: boolean;
  status: NewLedgerImport['status'];
  rows: number;
  entries: number;
  created: number;
  unchanged: number;
  rejected_entries: number;
  rejected_row_count: number;
  /** The first REPORTED_REJECTIONS rejected rows: line (header = 1), external_id, code, reason; sorted by line. */
  rejected_rows: RejectedRow[];
  /** True when there are more rejected rows than the answer carries: all of them are in `rejections_report`. */
  rejected_rows_truncated: boolean;
  /** Where the complete list of rejected rows is downloaded (CSV), or null when none was rejected. */
  rejections_report: string | null;
}

/** Rejected rows carried in an answer (and kept on the ledger_import row); the complete list is in the report. */
export const REPORTED_REJECTIONS = 1000;

/**
 * Reads, validates and books one file in a single transaction. Without `partial`, any rejected
 * row means nothing is booked; with it, entries having any rejected row are left out whole.
 * The import itself is recorded (and audited) either way.
 */
export async function importLedgerFile(
  request: LedgerImportRequest,
  repository: LedgerRepository,
  audit: AuditService,
  importId: string,
): Promise<LedgerImportReport> {
  let file: Awaited<ReturnType<typeof fingerprintLedgerFile>>;
  try {
    file = await fingerprintLedgerFile(request.path);
  } catch (error) {
    if (error instanceof LedgerImportUnsupported) {
      await recordRefusedImport({ ...request, sizeBytes: 0, error }, repository, audit, importId);
    }
    throw error;
  }
  const rejected: RejectedRow[] = [];
  const broken = new Set<string>();
  const drafts: Array<{ position: number; draft: JournalEntryDraft }> = [];
  const linesOf: number[][] = [];
  const linesById = new Map<string, number[]>();
  let rows = 0;
  let entryCount = 0;
  try {
    let assembler: LedgerFileAssembler | null = null;
    for await (const row of readLedgerFile(request.path, file.format, request.limits)) {
      if (assembler === null) assembler = LedgerFileAssembler.fromHeader(row);
      else assembler.addRow(row);
    }
    if (assembler === null) throw new LedgerFileUnreadable(1, 'the file has no header row');
    rows = assembler.rowCount;
    // One by one: a spread of 200,000 rejections overflows the call stack.
    for (const r of assembler.rejected) rejected.push(r);
    for (const id of assembler.brokenEntries) broken.add(id);
    for (const { externalId, entry, lines } of assembler.entries()) {
      const position = entryCount++;
      linesOf[position] = lines;
      linesById.set(externalId, lines);
      if (!entry) continue;
      const result = validateJournalEntry(entry.input);
      if (result.draft) drafts.push({ position, draft: result.draft });
      else reject(externalId, lines, result.problems);
    }
  } catch (error) {
    if (error instanceof LedgerImportLimitExceeded) {
      await recordRefusedImport(
        { ...request, sizeBytes: file.sizeBytes, sha256: file.sha256, format: file.format, error },
        repository,
        audit,
        importId,
      );
      throw error;
    }
    if (!(error instanceof LedgerFileUnreadable) && !(error instanceof Error && error.message.startsWith('header'))) throw error;
    const line = error instanceof LedgerFileUnreadable ? (error.line ?? 1) : 1;
    rejected.push({
      line,
      external_id: null,
      code: error instanceof LedgerFileUnreadable ? 'UNREADABLE_FILE' : 'INVALID_HEADER',
      reason: error.message,
    });
  }

  function reject(externalId: string, lines: number[], problems: EntryProblem[]): void {
    broken.add(externalId);
    for (const p of problems)
      rejected.push({ line: problemLine(p, lines), external_id: externalId, code: p.code, reason: `${p.field}: ${p.message}` });
  }

  const report = await repository.write(async (tx) => {
    const existing = await tx.loadExisting(
      drafts.map((d) => d.draft.externalId),
      drafts.map((d) => d.draft.reversesExternalId).filter((id): id is string => id !== null),
    );
    const plan = planJournalBatch(drafts, existing);
    for (const { position, problem } of plan.problems)
      reject(drafts.find((d) => d.position === position)!.draft.externalId, linesOf[position], [problem]);
    const accepted = plan.outcomes.length;
    const status: NewLedgerImport['status'] =
      rejected.length === 0 ? 'imported' : request.partial && accepted > 0 ? 'partially_imported' : 'rejected';
    if (request.partial && status !== 'imported') rejectRestOfBrokenEntries(rejected, broken, linesById);
    rejected.sort((a, b) => a.line - b.line);
    const toCreate = status === 'rejected' ? [] : plan.toCreate;
    const report: LedgerImportReport = {
      import_id: importId,
      file_name: request.fileName,
      sha256: file.sha256,
      size_bytes: file.sizeBytes,
      format: file.format,
      partial: request.partial,
      status,
      rows,
      entries: entryCount,
      created: toCreate.length,
      unchanged: status === 'rejected' ? 0 : plan.outcomes.filter((o) => o.status === 'unchanged').length,
      // Entries with an invalid row; when the whole file is refused the others are not booked either (`created` says 0).
      rejected_entries: broken.size,
      rejected_row_count: new Set(rejected.map((r) => r.line)).size,
      rejected_rows: rejected.length > REPORTED_REJECTIONS ? rejected.slice(0, REPORTED_REJECTIONS) : rejected,
      rejected_rows_truncated: rejected.length > REPORTED_REJECTIONS,
      rejections_report: rejected.length > 0 ? rejectionsReportPath(importId) : null,
    };
    await tx.recordImport({
      id: importId,
      fileName: request.fileName,
      sha256: file.sha256,
      sizeBytes: file.sizeBytes,
      format: file.format,
      partial: request.partial,
      status,
      rowCount: rows,
      entryCount,
      createdCount: report.created,
      unchangedCount: report.unchanged,
      rejectedEntryCount: report.rejected_entries,
      rejectedRowCount: report.rejected_row_count,
      rejections: rejected.length ? rejected.slice(0, REPORTED_REJECTIONS) : null,
      refusalCode: null,
      createdBy: request.actor,
    });
    await tx.recordRejections(importId, rejected);
    const seqs = await tx.insertEntries(toCreate, request.actor, importId);
    await audit.record(
      {
        actor: request.actor,
        action: `ledger.import.${status}`,
        entityType: 'ledger_import',
        entityId: importId,
        toState: status,
        details: {
          file_name: request.fileName,
          size_bytes: file.sizeBytes,
          format: file.format,
          partial: request.partial,
          rows,
          entries: entryCount,
          created: report.created,
          unchanged: report.unchanged,
          rejected_entries: report.rejected_entries,
          rejected_rows: report.rejected_row_count,
          ...seqRange(seqs),
        },
        requestBody: { sha256: file.sha256, file_name: request.fileName, partial: request.partial },
      },
      tx.manager,
    );
    return report;
  });
  if (report.status === 'rejected') {
    throw new LedgerImportRejected(
      `${report.rejected_row_count} row(s) rejected, nothing imported${request.partial ? '' : ' (add ?partial=true to import the valid entries)'}: ${report.rejected_rows
        .slice(0, 3)
        .map((r) => `line ${r.line}: ${r.reason}`)
        .join(' | ')}`.slice(0, 2000),
      report,
    );
  }
  return report;
}

/** In a partial import, the readable rows of a rejected entry are rejected with it: say so on each. */
function rejectRestOfBrokenEntries(rejected: RejectedRow[], broken: Set<string>, linesById: Map<string, number[]>): void {
  const reported = new Set(rejected.map((r) => r.line));
  const firstReported = new Map<string, number>();
  for (const r of rejected) if (r.external_id && !firstReported.has(r.external_id)) firstReported.set(r.external_id, r.line);
  for (const id of broken) {
    for (const line of linesById.get(id) ?? []) {
      if (!reported.has(line))
        rejected.push({
          line,
          external_id: id,
          code: 'ENTRY_REJECTED',
          reason: `rejected with its entry ${id} (see line ${firstReported.get(id)})`,
        });
    }
  }
}

export const rejectionsReportPath = (importId: string) => `/ledger/imports/${importId}/rejections`;

/** Records (and audits) an import attempt that was refused: nothing of it is booked. */
export async function recordRefusedImport(
  refused: RefusedLedgerImport,
  repository: LedgerRepository,
  audit: AuditService,
  importId: string,
): Promise<void> {
  await repository.write(async (tx) => {
    await tx.recordImport({
      id: importId,
      fileName: refused.fileName,
      sha256: refused.sha256 ?? null,
      sizeBytes: refused.sizeBytes,
      format: refused.format ?? null,
      partial: refused.partial,
      status: 'refused',
      rowCount: refused.rows ?? 0,
      entryCount: 0,
      createdCount: 0,
      unchangedCount: 0,
      rejectedEntryCount: 0,
      rejectedRowCount: 0,
      rejections: null,
      refusalCode: refused.error.code,
      createdBy: refused.actor,
    });
    await audit.record(
      {
        actor: refused.actor,
        action: 'ledger.import.refused',
        entityType: 'ledger_import',
        entityId: importId,
        toState: 'refused',
        reason: refused.error.message.slice(0, 500),
        details: {
          file_name: refused.fileName,
          size_bytes: refused.sizeBytes,
          format: refused.format ?? null,
          partial: refused.partial,
          code: refused.error.code,
        },
        requestBody: { sha256: refused.sha256 ?? null, file_name: refused.fileName, partial: refused.partial },
      },
      tx.manager,
    );
  });
}
