import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { AuditService } from '@app/audit';
import { type FieldProblem, NotFound } from '@app/errors';
import { MAX_ENTRIES_PER_BATCH } from './chart-of-accounts';
import type { EntryProblem, JournalEntryDraft, LedgerEntryInput } from './journal-entry-input';
import { validateJournalEntry } from './journal-entry-rules';
import { planJournalBatch, seqRange, type EntryOutcome } from './ledger-batch-plan';
import { LedgerEntryConflict, LedgerValidationFailed } from './ledger-errors';
import { type JournalEntryFilter, LedgerRepository, type LedgerImportRow, type StoredJournalEntry } from './ledger.repository';
import {
  importLedgerFile,
  type LedgerImportReport,
  type LedgerImportRequest,
  recordRefusedImport,
  type RefusedLedgerImport,
} from './ledger-import';
import { csvLine } from './ledger-text';

export interface PostedBatch {
  created: number;
  unchanged: number;
  entries: Array<{ index: number; external_id: string; ledger_seq: string; status: 'created' | 'unchanged' }>;
}

/** Posting, importing and reading the internal ledger (docs/ledger-and-breaks.md). */
@Injectable()
export class LedgerService {
  constructor(
    private readonly repository: LedgerRepository,
    private readonly audit: AuditService,
  ) {}

  /**
   * Posts a batch in one transaction: every entry is created or found unchanged, or nothing is
   * written (400 naming every problem, 409 naming every conflicting external_id).
   */
  async post(entries: LedgerEntryInput[], actor: string, requestBody: unknown = { entries }): Promise<PostedBatch> {
    if (entries.length === 0 || entries.length > MAX_ENTRIES_PER_BATCH) {
      throw new LedgerValidationFailed([{ field: 'entries', problems: [`must hold 1 to ${MAX_ENTRIES_PER_BATCH} entries`] }]);
    }
    const drafts: Array<{ position: number; draft: JournalEntryDraft }> = [];
    const problems: FieldProblem[] = [];
    entries.forEach((input, position) => {
      const result = validateJournalEntry(input);
      if (result.draft) drafts.push({ position, draft: result.draft });
      else problems.push(...result.problems.map((p) => fieldProblem(position, p)));
    });
    if (problems.length > 0) throw new LedgerValidationFailed(problems);

    return this.repository.write(async (tx) => {
      const existing = await tx.loadExisting(
        drafts.map((d) => d.draft.externalId),
        drafts.map((d) => d.draft.reversesExternalId).filter((id): id is string => id !== null),
      );
      const plan = planJournalBatch(drafts, existing);
      const conflicts = plan.problems.filter((p) => p.problem.code === 'LEDGER_ENTRY_CONFLICT');
      if (plan.problems.length > conflicts.length)
        throw new LedgerValidationFailed(plan.problems.map((p) => fieldProblem(p.position, p.problem)));
      if (conflicts.length > 0) {
        throw new LedgerEntryConflict(
          conflicts.map((c) => ({ field: `entries[${c.position}].external_id`, externalId: entries[c.position].external_id })),
        );
      }
      const seqs = await tx.insertEntries(plan.toCreate, actor, null);
      const batch = summarise(plan.outcomes, seqs);
      await this.audit.record(
        {
          actor,
          action: 'ledger.entries.posted',
          entityType: 'ledger_batch',
          entityId: batch.entries[0] ? `${batch.entries[0].external_id}..+${batch.entries.length - 1}` : '(empty)',
          details: { created: batch.created, unchanged: batch.unchanged, entries: entries.length, ...seqRange(seqs) },
          requestBody,
        },
        tx.manager,
      );
      return batch;
    });
  }

  /** Imports an uploaded CSV/XLSX file (already stored on disk by the HTTP layer). */
  async importFile(request: LedgerImportRequest): Promise<LedgerImportReport> {
    return importLedgerFile(request, this.repository, this.audit, randomUUID());
  }

  /** Records an import attempt refused before its file could be read (too large, no file); returns its id. */
  async recordRefusedImport(refused: RefusedLedgerImport): Promise<string> {
    const id = randomUUID();
    await recordRefusedImport(refused, this.repository, this.audit, id);
    return id;
  }

  listImports(limit: number, before?: { createdAtUs: string; id: string }): Promise<LedgerImportRow[]> {
    return this.repository.listImports(limit, before);
  }

  async getImport(id: string): Promise<LedgerImportRow> {
    const row = await this.repository.findImport(id);
    if (!row) throw new NotFound('ledger import', id);
    return row;
  }

  /**
   * The complete list of an import's rejected rows as CSV (line, external_id, code, reason), read
   * from the database a page at a time while it is sent. Cells are neutralised against formula
   * injection: the report is meant to be opened in a spreadsheet.
   */
  async rejectionsCsv(id: string): Promise<{ file: LedgerImportRow; stream: Readable }> {
    const file = await this.getImport(id);
    const repository = this.repository;
    async function* lines(): AsyncGenerator<string> {
      yield csvLine(['line', 'external_id', 'code', 'reason']);
      let after = 0;
      for (;;) {
        const page = await repository.rejectionsPage(id, after, 5000);
        if (page.length === 0) return;
        yield page.map((r) => csvLine([String(r.line), r.external_id ?? '', r.code, r.reason])).join('');
        after = page[page.length - 1].ordinal;
      }
    }
    return { file, stream: Readable.from(lines()) };
  }

  list(filter: JournalEntryFilter): Promise<StoredJournalEntry[]> {
    return this.repository.listEntries(filter);
  }

  highWaterMark(): Promise<string> {
    return this.repository.highWaterMark();
  }
}

function fieldProblem(position: number, p: EntryProblem): FieldProblem {
  const path = p.posting === undefined ? `entries[${position}].${p.field}` : `entries[${position}].postings[${p.posting}].${p.field}`;
  return { field: path, problems: [p.message] };
}

export function summarise(outcomes: EntryOutcome[], seqs: Map<string, string>): PostedBatch {
  const entries = outcomes
    .sort((a, b) => a.position - b.position)
    .map((o) => ({
      index: o.position,
      external_id: o.externalId,
      ledger_seq: o.ledgerSeq ?? (seqs.get(o.externalId) as string),
      status: o.status,
    }));
  return {
    created: entries.filter((e) => e.status === 'created').length,
    unchanged: entries.filter((e) => e.status === 'unchanged').length,
    entries,
  };
}
