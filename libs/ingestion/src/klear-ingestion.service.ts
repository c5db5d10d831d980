import { Injectable } from '@nestjs/common';
import { Clock } from '@app/clock';
import { type KlearAnswerData, type KlearClient, KlearSchemaError, type KlearResponse, sha256Hex } from '@app/klear-client';
import type { ObligationEntry } from '@app/klear-contract';
import type { JobContext } from '@app/jobs';
import { type InterpretableName, type Interpretation, interpretAnswer, noteUnmappedContent } from './klear-answer-interpreter';
import { type DetailPageWalker, completeObligations, klearDetailPager } from './obligation-completion';
import { IngestionTransactionRepository } from './ingestion-transaction.repository';
import { truncatedLists } from './obligation-content';
import { ObligationRepository, upsertObligation } from './obligation.repository';
import { unmappedContentOf } from './unmapped-content';
import { ESCAPED_NUL, escapeNulCharacters } from './postgres-text';
import { ResponseArchiveRepository } from './response-archive.repository';

/**
 * The one path every Klear read of a job takes: fetch (the client retries and rate-limits), archive
 * the body as it came, then interpret it into the derived tables in one transaction.
 */
@Injectable()
export class KlearIngestion {
  constructor(
    private readonly transactions: IngestionTransactionRepository,
    private readonly archive: ResponseArchiveRepository,
    private readonly obligations: ObligationRepository,
    private readonly clock: Clock,
  ) {}

  /**
   * `klear`: for obligation answers, the client that completes truncated inline lists from the paged
   * endpoints (each page archived) before anything is stored.
   */
  async ingest<N extends InterpretableName>(
    context: JobContext,
    name: N,
    fetch: () => Promise<KlearResponse<KlearAnswerData<N>>>,
    klear?: KlearClient,
  ): Promise<Interpretation> {
    let answer: KlearResponse<KlearAnswerData<N>>;
    try {
      answer = await fetch();
    } catch (error) {
      // A body that breaks the contract is still archived: it is what Klear said.
      if (error instanceof KlearSchemaError) {
        const body = error.rawSpooledBody;
        const spooled = body === undefined ? {} : { body: '', spooledBody: body, sha256: error.rawBodySha256 ?? '' };
        // The archive closes a spooled body, written or not.
        await this.archive.append(
          {
            body: error.rawBody,
            status: error.status,
            endpoint: error.endpoint,
            params: {},
            receivedAt: this.clock.now(),
            sha256: sha256Hex(error.rawBody),
            ...spooled,
          },
          context.runId,
        );
      }
      throw error;
    }
    try {
      return await this.archiveAndStore(context, name, answer, klear);
    } finally {
      // A spooled body is closed once archived; still open when the run stopped before archiving it.
      await answer.raw.spooledBody?.close();
    }
  }

  private async archiveAndStore<N extends InterpretableName>(
    context: JobContext,
    name: N,
    answer: KlearResponse<KlearAnswerData<N>>,
    klear: KlearClient | undefined,
  ): Promise<Interpretation> {
    // Every write batch is fenced by the job lock: a run that lost it stops before writing.
    await context.confirmLockHeld();
    const archiveId = await this.archive.append(answer.raw, context.runId);
    this.noteUnmapped(context, answer.raw.endpoint, answer.unmapped);
    noteUnmappedContent(name, answer.data, answer.unmapped, answer.raw.body, answer.itemBodies);
    this.escapeNul(context, answer.raw.endpoint, answer.data);
    let stored = { written: 0, read: 0 };
    if (name === 'obligationHistory' || name === 'activeObligations') {
      const entries = (answer.data as { obligations: ObligationEntry[] }).obligations;
      if (klear === undefined && entries.some((e) => truncatedLists(e).length > 0)) {
        throw new Error('a truncated obligation needs the client to complete it from the paged endpoints');
      }
      if (klear !== undefined) stored = await this.completeAndStoreEach(context, entries, klear, archiveId, answer.raw.receivedAt);
    }
    const result = await this.transactions.run(async (tx) => {
      // Obligations completed above are held complete now: seen again here, they are left as stored.
      const interpreted = await interpretAnswer(tx, name, answer.data, archiveId, answer.raw.receivedAt, undefined, answer.raw.params);
      // Checked again just before commit: a lock lost while interpreting rolls the page back.
      await context.confirmLockHeld();
      return interpreted;
    });
    context.read(result.read);
    context.wrote(result.written + stored.written);
    return { ...result, written: result.written + stored.written };
  }

  /**
   * Completes each truncated obligation of a page from the paged endpoints and stores it in its own
   * transaction, one after another: only one obligation's complete lists are in memory at a time
   * (a page of 1,000,000-row obligations would hold them all). An obligation held complete at the same
   * version is not paged again. A failure stores nothing more (those stored stay: upserts by id).
   */
  private async completeAndStoreEach(
    context: JobContext,
    entries: readonly ObligationEntry[],
    klear: KlearClient,
    archiveId: string,
    pulledAt: Date,
  ) {
    const totals = { written: 0, read: 0, completed: 0, pages: 0, rows: 0 };
    const held = (entry: ObligationEntry) => this.obligations.isHeldComplete(entry);
    for (const entry of entries) {
      if (truncatedLists(entry).length === 0) continue;
      const completion = await completeObligations([entry], this.livePager(context, klear), held);
      const complete = completion.entries.get(entry.id);
      if (complete === undefined) continue;
      totals.written += await this.transactions.run(async (tx) => {
        const { rowsWritten } = await upsertObligation(
          tx,
          complete,
          archiveId,
          pulledAt,
          completion.completed.get(entry.id) ?? [],
          unmappedContentOf(entry),
        );
        await context.confirmLockHeld();
        return rowsWritten;
      });
      totals.completed++;
      totals.pages += completion.pages;
      totals.rows += completion.rows;
    }
    if (totals.pages > 0)
      context.setDetails({ completed_obligations: totals.completed, detail_pages: totals.pages, detail_rows: totals.rows });
    return totals;
  }

  /** Per run and detail key, the lines recorded so far (a run's details are replaced key by key). */
  private readonly notesByRun = new Map<string, Set<string>>();

  /** Fields Klear sent that the contract does not name: recorded on the job run (the archive keeps them). */
  private noteUnmapped(context: JobContext, endpoint: string, unmapped: string[] | undefined): void {
    this.note(
      context,
      'unmapped_fields',
      (unmapped ?? []).map((field) => `${endpoint}: ${field}`),
    );
  }

  /** A NUL character PostgreSQL cannot store is escaped, never failing the page: a contract error on the run. */
  private escapeNul(context: JobContext, endpoint: string, data: unknown): void {
    const paths = escapeNulCharacters(data);
    this.note(
      context,
      'contract_errors',
      paths.map((path) => `${endpoint}: ${path} held U+0000, stored as ${ESCAPED_NUL}`),
    );
  }

  private note(context: JobContext, key: 'unmapped_fields' | 'contract_errors', lines: string[]): void {
    if (lines.length === 0) return;
    const id = `${context.runId}/${key}`;
    const seen = this.notesByRun.get(id) ?? new Set<string>();
    for (const line of lines) if (seen.size < 200) seen.add(line);
    if (this.notesByRun.size > 200) this.notesByRun.clear();
    this.notesByRun.set(id, seen);
    context.setDetails({ [key]: [...seen].sort() });
  }

  /** Reads pages of detail lists from Klear, each archived (and its unmapped fields noted) before use. */
  private livePager(context: JobContext, klear: KlearClient): DetailPageWalker {
    return klearDetailPager(klear, async (answer, rows) => {
      if (context.signal.aborted) throw new Error('stopped by shutdown');
      await context.confirmLockHeld();
      await this.archive.append(answer.raw, context.runId);
      this.noteUnmapped(context, answer.raw.endpoint, answer.unmapped);
      this.escapeNul(context, answer.raw.endpoint, answer.data);
      context.read(rows);
    });
  }
}
