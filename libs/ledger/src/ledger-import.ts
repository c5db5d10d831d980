import type { AuditService } from '@app/audit';
import type { EntryProblem, JournalEntryDraft } from './journal-entry-input';
import { validateJournalEntry } from './journal-entry-rules';
import { planJournalBatch, seqRange } from './ledger-batch-plan';
import { LedgerImportRejected } from './ledger-errors';
import { LedgerFileAssembler, problemLine, type RejectedRow } from './ledger-file-entries';
import { fingerprintLedgerFile, LedgerFileUnreadable, readLedgerFile, type LedgerFileFormat } from './ledger-file-reader';
import type { LedgerRepository, NewLedgerImport } from './ledger.repository';

export interface LedgerImportRequest {
  /** The upload, stored on disk by the HTTP layer (which removes it afterwards). */
  path: string;
  fileName: string;
  /** Import the valid entries and reject only entries having an invalid row. */
  partial: boolean;
  actor: string;
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
  /** Every rejected row: line (header = 1), external_id, code, reason; sorted by line. */
  rejected_rows: RejectedRow[];
}

/** Rejections kept on the ledger_import row (the answer carries them all). */
const STORED_REJECTIONS = 1000;

/**
 * Reads, validates and books one file in a single transaction. Without `partial`, any rejected
 * row means nothing is booked; with it, entries having any rejected row are left out whole.
 * The import itself is recorded (and audited) either way.
 */
export async function importLedgerFile(request: LedgerImportRequest, repository: LedgerRepository, audit: AuditService, importId: string): Promise<LedgerImportReport> {
  const file = await fingerprintLedgerFile(request.path);
  const rejected: RejectedRow[] = [];
  const broken = new Set<string>();
  const drafts: Array<{ position: number; draft: JournalEntryDraft }> = [];
  const linesOf: number[][] = [];
  const linesById = new Map<string, number[]>();
  let rows = 0;
  let entryCount = 0;
  try {
    let assembler: LedgerFileAssembler | null = null;
    for await (const row of readLedgerFile(request.path, file.format)) {
      if (assembler === null) assembler = LedgerFileAssembler.fromHeader(row);
      else assembler.addRow(row);
    }
    if (assembler === null) throw new LedgerFileUnreadable(1, 'the file has no header row');
    rows = assembler.rowCount;
    rejected.push(...assembler.rejected);
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
    if (!(error instanceof LedgerFileUnreadable) && !(error instanceof Error && error.message.startsWith('header'))) throw error;
    const line = error instanceof LedgerFileUnreadable ? (error.line ?? 1) : 1;
    rejected.push({ line, external_id: null, code: error instanceof LedgerFileUnreadable ? 'UNREADABLE_FILE' : 'INVALID_HEADER', reason: error.message });
  }

  function reject(externalId: string, lines: number[], problems: EntryProblem[]): void {
    broken.add(externalId);
    for (const p of problems) rejected.push({ line: problemLine(p, lines), external_id: externalId, code: p.code, reason: `${p.field}: ${p.message}` });
  }

  const report = await repository.write(async (tx) => {
    const existing = await tx.loadExisting(
      drafts.map((d) => d.draft.externalId),
      drafts.map((d) => d.draft.reversesExternalId).filter((id): id is string => id !== null),
    );
    const plan = planJournalBatch(drafts, existing);
    for (const { position, problem } of plan.problems) reject(drafts.find((d) => d.position === position)!.draft.externalId, linesOf[position], [problem]);
    const accepted = plan.outcomes.length;
    const status: NewLedgerImport['status'] = rejected.length === 0 ? 'imported' : request.partial && accepted > 0 ? 'partially_imported' : 'rejected';
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
      rejected_entries: status === 'rejected' ? entryCount : broken.size,
      rejected_row_count: new Set(rejected.map((r) => r.line)).size,
      rejected_rows: rejected,
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
      rejections: rejected.length ? rejected.slice(0, STORED_REJECTIONS) : null,
      createdBy: request.actor,
    });
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
      if (!reported.has(line)) rejected.push({ line, external_id: id, code: 'ENTRY_REJECTED', reason: `rejected with its entry ${id} (see line ${firstReported.get(id)})` });
    }
  }
}
