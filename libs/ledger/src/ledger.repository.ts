import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AdvisoryLocks, ensureCyclePartitions, type LedgerImportStatus, lockForTransaction, pageLimit, preparedRows } from '@app/db';
import type { Account } from './chart-of-accounts';
import type { ExistingJournalEntry, PlannedEntry } from './ledger-batch-plan';
import type { JournalEntryFields, JournalPostingDraft } from './journal-entry-input';
import { canonicalFromDatabase } from './ledger-text';

/** Rows per INSERT statement: keeps parameter arrays a few MB while staying set-based. */
const ENTRIES_PER_STATEMENT = 5000;

/** A timestamptz column as canonical RFC 3339 UTC text (microseconds kept; node Date would drop them). */
export const utcText = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export interface NewLedgerImport {
  id: string;
  fileName: string;
  sha256: string | null;
  sizeBytes: number;
  format: 'csv' | 'xlsx' | null;
  partial: boolean;
  status: LedgerImportStatus;
  rowCount: number;
  entryCount: number;
  createdCount: number;
  unchangedCount: number;
  rejectedEntryCount: number;
  rejectedRowCount: number;
  rejections: unknown[] | null;
  refusalCode: string | null;
  createdBy: string;
}

export interface LedgerImportRow {
  id: string;
  file_name: string;
  sha256: string | null;
  size_bytes: string;
  format: 'csv' | 'xlsx' | null;
  partial: boolean;
  status: LedgerImportStatus;
  row_count: number;
  entry_count: number;
  created_count: number;
  unchanged_count: number;
  rejected_entry_count: number;
  rejected_row_count: number;
  refusal_code: string | null;
  created_by: string;
  created_at: Date;
  /** created_at in microseconds since the epoch (the list's cursor). */
  created_at_us: string;
  rejection_count: number;
}

export interface JournalEntryFilter {
  subtraderId?: string;
  cycle?: string;
  entryType?: string;
  externalId?: string;
  afterSeq?: string;
  limit: number;
  /** Fetch postings only for the leading entries that fit this many postings (at least one entry). */
  maxPostings?: number;
}

export interface StoredJournalEntry extends JournalEntryFields {
  ledgerSeq: string;
  entryType: string;
  reversedBy: string | null;
  importId: string | null;
  createdBy: string;
  createdAt: string;
  postings: Array<{ account: string; marketTicker: string | null; amount: bigint }>;
  /**
   * Set on the one entry a budgeted list (`maxPostings`) returns past its budget, postings unread:
   * it only says that more entries follow.
   */
  pastBudget?: boolean;
}

/** The writes of one ledger transaction, under the ledger lock. `manager` is for the audit row. */
export class LedgerWriteTransaction {
  constructor(readonly manager: EntityManager) {}

  async loadExisting(externalIds: string[], reversalTargets: string[]): Promise<Map<string, ExistingJournalEntry>> {
    const rows = (await this.manager.query(
      `SELECT e.ledger_seq::text AS ledger_seq, e.external_id, e.entry_type, ${utcText('e.cycle')} AS cycle, e.subtrader_id, e.asset_class, e.content_hash,
              r.external_id AS reversed_by
         FROM journal_entry e LEFT JOIN journal_entry r ON r.reverses_external_id = e.external_id
        WHERE e.external_id = ANY($1::text[])`,
      [[...new Set([...externalIds, ...reversalTargets])]],
    )) as Array<Record<string, string | null>>;
    const found = new Map<string, ExistingJournalEntry>();
    for (const r of rows) {
      found.set(r.external_id as string, {
        ledgerSeq: r.ledger_seq as string,
        externalId: r.external_id as string,
        entryType: r.entry_type as string,
        cycle: canonicalFromDatabase(r.cycle),
        subtraderId: r.subtrader_id,
        assetClass: r.asset_class as string,
        contentHash: r.content_hash as string,
        reversedBy: r.reversed_by,
        postings: null,
      });
    }
    const targets = reversalTargets.filter((id) => found.has(id));
    if (targets.length > 0) {
      const postings = (await this.manager.query(
        `SELECT e.external_id, p.account, p.market_ticker, p.amount_centicents::text AS amount
           FROM journal_entry e JOIN journal_posting p ON p.entry_seq = e.ledger_seq
          WHERE e.external_id = ANY($1::text[])`,
        [targets],
      )) as Array<{ external_id: string; account: Account; market_ticker: string | null; amount: string }>;
      for (const p of postings) {
        const entry = found.get(p.external_id) as ExistingJournalEntry;
        (entry.postings ??= []).push({ account: p.account, marketTicker: p.market_ticker, amount: BigInt(p.amount) });
      }
    }
    return found;
  }

  async recordImport(i: NewLedgerImport): Promise<void> {
    await this.manager.query(
      `INSERT INTO ledger_import (id, file_name, sha256, size_bytes, format, partial, status, row_count, entry_count, created_count,
                                  unchanged_count, rejected_entry_count, rejected_row_count, rejections, refusal_code, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
      [
        i.id,
        i.fileName,
        i.sha256,
        String(i.sizeBytes),
        i.format,
        i.partial,
        i.status,
        i.rowCount,
        i.entryCount,
        i.createdCount,
        i.unchangedCount,
        i.rejectedEntryCount,
        i.rejectedRowCount,
        i.rejections === null ? null : JSON.stringify(i.rejections),
        i.refusalCode,
        i.createdBy,
      ],
    );
  }

  /** Every rejected row of an import, in order (the downloadable report), in chunks of 5,000. */
  async recordRejections(
    importId: string,
    rejected: Array<{ line: number; external_id: string | null; code: string; reason: string }>,
  ): Promise<void> {
    for (let start = 0; start < rejected.length; start += 5000) {
      const chunk = rejected.slice(start, start + 5000);
      await this.manager.query(
        `INSERT INTO ledger_import_rejection (import_id, ordinal, line, external_id, code, reason)
         SELECT $1, o, l, e, c, r FROM unnest($2::int[], $3::int[], $4::text[], $5::text[], $6::text[]) AS t(o, l, e, c, r)`,
        [
          importId,
          chunk.map((_, i) => start + i + 1),
          chunk.map((r) => r.line),
          chunk.map((r) => r.external_id),
          chunk.map((r) => r.code),
          chunk.map((r) => r.reason),
        ],
      );
    }
  }

  /** Inserts entries and postings with a few multi-row statements; returns external_id -> ledger_seq. */
  async insertEntries(entries: PlannedEntry[], createdBy: string, importId: string | null): Promise<Map<string, string>> {
    const seqs = new Map<string, string>();
    if (entries.length === 0) return seqs;
    const subtraders = [...new Set(entries.map((e) => e.draft.subtraderId).filter((s): s is string => s !== null))];
    if (subtraders.length > 0) {
      // Ingestion sets first_seen_in_klear_at on the same rows; each side fills only its own column.
      await this.manager.query(
        `INSERT INTO subtrader (subtrader_id, first_seen_in_ledger_at) SELECT s, now() FROM unnest($1::text[]) AS s
         ON CONFLICT (subtrader_id) DO UPDATE SET first_seen_in_ledger_at = now() WHERE subtrader.first_seen_in_ledger_at IS NULL`,
        [subtraders],
      );
    }
    for (let start = 0; start < entries.length; start += ENTRIES_PER_STATEMENT) {
      const chunk = entries.slice(start, start + ENTRIES_PER_STATEMENT).map((e) => e.draft);
      const column = <T>(pick: (d: (typeof chunk)[number]) => T) => chunk.map(pick);
      const inserted = (await this.manager.query(
        `INSERT INTO journal_entry (external_id, entry_type, effective_at, cycle, subtrader_id, business_reference, description,
                                    reverses_external_id, content_hash, created_by, import_id, asset_class, posting_count)
         SELECT u.external_id, u.entry_type, u.effective_at, u.cycle, u.subtrader_id, u.business_reference, u.description,
                u.reverses_external_id, u.content_hash, $10, $11, u.asset_class, u.posting_count
           FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $12::text[], $13::int[])
                WITH ORDINALITY AS u(external_id, entry_type, effective_at, cycle, subtrader_id, business_reference, description,
                                     reverses_external_id, content_hash, asset_class, posting_count, ord)
          ORDER BY u.ord
         RETURNING ledger_seq::text AS ledger_seq, external_id`,
        [
          column((d) => d.externalId),
          column((d) => d.entryType),
          column((d) => d.effectiveAt),
          column((d) => d.cycle),
          column((d) => d.subtraderId),
          column((d) => d.businessReference),
          column((d) => d.description),
          column((d) => d.reversesExternalId),
          entries.slice(start, start + ENTRIES_PER_STATEMENT).map((e) => e.contentHash),
          createdBy,
          importId,
          column((d) => d.assetClass),
          column((d) => d.postings.length),
        ],
      )) as Array<{ ledger_seq: string; external_id: string }>;
      for (const r of inserted) seqs.set(r.external_id, r.ledger_seq);
      await this.insertPostings(
        chunk.map((d) => ({
          seq: seqs.get(d.externalId) as string,
          cycle: d.cycle,
          subtraderId: d.subtraderId,
          assetClass: d.assetClass,
          postings: d.postings,
        })),
      );
    }
    return seqs;
  }

  private async insertPostings(
    entries: Array<{ seq: string; cycle: string | null; subtraderId: string | null; assetClass: string; postings: JournalPostingDraft[] }>,
  ): Promise<void> {
    const seq: string[] = [];
    const lineNo: number[] = [];
    const account: string[] = [];
    const market: Array<string | null> = [];
    const amount: string[] = [];
    const cycle: Array<string | null> = [];
    const subtrader: Array<string | null> = [];
    const assetClass: string[] = [];
    for (const e of entries) {
      e.postings.forEach((p, i) => {
        seq.push(e.seq);
        lineNo.push(i + 1);
        account.push(p.account);
        market.push(p.marketTicker);
        amount.push(p.amount.toString());
        cycle.push(e.cycle);
        subtrader.push(e.subtraderId);
        assetClass.push(e.assetClass);
      });
    }
    // Postings are partitioned by month of their cycle (cycle_key; '-infinity' without one): the
    // months exist first (usually made ahead, a no-op).
    await ensureCyclePartitions(this.manager, cycle);
    await this.manager.query(
      `INSERT INTO journal_posting (entry_seq, line_no, account, market_ticker, amount_centicents, cycle, subtrader_id, asset_class, cycle_key)
       SELECT u.*, coalesce(u.cycle, '-infinity') FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::text[], $5::bigint[], $6::timestamptz[], $7::text[], $8::text[])
         AS u(entry_seq, line_no, account, market_ticker, amount_centicents, cycle, subtrader_id, asset_class)`,
      [seq, lineNo, account, market, amount, cycle, subtrader, assetClass],
    );
  }
}

/** All SQL of the internal ledger. */
const IMPORT_COLUMNS = `id, file_name, sha256, size_bytes::text AS size_bytes, format, partial, status, row_count, entry_count, created_count, unchanged_count,
  rejected_entry_count, rejected_row_count, refusal_code, created_by, created_at,
  (extract(epoch FROM created_at) * 1000000)::bigint::text AS created_at_us,
  (SELECT count(*)::int FROM ledger_import_rejection r WHERE r.import_id = i.id) AS rejection_count`;

@Injectable()
export class LedgerRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Runs `work` in one transaction holding the ledger write lock: all of it commits, or none. */
  async write<T>(work: (tx: LedgerWriteTransaction) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (manager) => {
      // Serialises ledger writers, which makes `ledger_seq` commit-ordered (see JournalEntry.ledgerSeq).
      await lockForTransaction(manager, AdvisoryLocks.ledgerWrites);
      return work(new LedgerWriteTransaction(manager));
    });
  }

  /**
   * Entries in ledger order with their postings, in one statement. With `maxPostings`, the list stops
   * before the entry that would take it past that many postings (always at least one entry) and then
   * holds that entry alone, postings unread, marked `pastBudget`. Each entry states how many postings it
   * has (`posting_count`, checked at commit against its postings): the page is chosen from journal_entry
   * alone, and only the postings of the entries it answers are read (issue 18: until the count was stored,
   * a page of one trade settlement read 201 postings and looked up 51 entries to find where 200 stop).
   */
  async listEntries(f: JournalEntryFilter): Promise<StoredJournalEntry[]> {
    // Only the filters given are in the text: each filter shape is its own prepared statement with a
    // plan of its own (a generic plan of "$1 IS NULL OR subtrader_id = $1" could not use the subtrader
    // index). Prepared (issue 18): this statement cost more to plan than to run. Its LIMIT is a constant
    // (pageLimit): with a parameter there, a prototype of this statement had its generic plan priced for
    // an unknown LIMIT (169k against 45k for the custom plan) and was planned again on every call.
    const params: unknown[] = [];
    const where: string[] = [];
    if (f.subtraderId !== undefined) where.push(`e.subtrader_id = $${params.push(f.subtraderId)}`);
    if (f.cycle !== undefined) where.push(`e.cycle = $${params.push(f.cycle)}::timestamptz`);
    if (f.entryType !== undefined) where.push(`e.entry_type = $${params.push(f.entryType)}`);
    if (f.externalId !== undefined) where.push(`e.external_id = $${params.push(f.externalId)}`);
    where.push(`e.ledger_seq > $${params.push(f.afterSeq ?? '0')}::bigint`);
    const scan = pageLimit(f.limit);
    const limit = `$${params.push(f.limit)}::bigint`;
    const budget = `$${params.push(f.maxPostings === undefined ? null : String(f.maxPostings))}::bigint`;
    const rows = await preparedRows<
      Record<string, string | null> & { past_budget: boolean; postings: Array<[string, string | null, string]> | null }
    >(
      this.dataSource,
      // `past`: the entry's postings would take the page past the budget (never the first entry). The
      // running sum only grows, so the entries not past are a prefix; the page is that prefix and the
      // first entry past it. Only postings that can be read count: an entry of a month retention moved
      // out of journal_posting (detached into the archive schema, or exported and dropped) lists with
      // none, as does an entry older than posting_count whose postings had been dropped (NULL).
      `WITH attached AS MATERIALIZED (
         SELECT coalesce(array_agg(c.relname::text), '{}') AS months FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = 'journal_posting'::regclass),
       page AS MATERIALIZED (
         SELECT e.ledger_seq, e.external_id, e.entry_type, e.effective_at, e.cycle, e.subtrader_id, e.asset_class, e.business_reference,
                e.description, e.reverses_external_id, e.import_id, e.created_by, e.created_at,
                row_number() OVER w AS k,
                coalesce(sum(CASE WHEN e.cycle IS NULL OR 'journal_posting_p' || to_char(e.cycle AT TIME ZONE 'UTC', 'YYYYMM') = ANY(a.months)
                                  THEN coalesce(e.posting_count, 0) ELSE 0 END) OVER w > ${budget}, false)
                  AND row_number() OVER w > 1 AS past
           FROM journal_entry e CROSS JOIN attached a
          WHERE ${where.join(' AND ')}
         WINDOW w AS (ORDER BY e.ledger_seq ROWS UNBOUNDED PRECEDING)
          ORDER BY e.ledger_seq
          LIMIT ${scan.sql}),
       listed AS (SELECT * FROM page WHERE k <= ${limit} AND (NOT past OR k = (SELECT min(k) FROM page WHERE past)))
       -- Each listed entry's postings from its own cycle's month partition (a posting's cycle is its
       -- entry's: journal_posting_check_balanced), the other months pruned as the entry is looked up.
       SELECT l.ledger_seq::text AS ledger_seq, l.external_id, l.entry_type, ${utcText('l.effective_at')} AS effective_at,
              ${utcText('l.cycle')} AS cycle, l.subtrader_id, l.asset_class, l.business_reference, l.description, l.reverses_external_id,
              r.external_id AS reversed_by, l.import_id, l.created_by, ${utcText('l.created_at')} AS created_at, l.past AS past_budget,
              CASE WHEN NOT l.past THEN
                (SELECT json_agg(json_build_array(p.account, p.market_ticker, p.amount_centicents::text) ORDER BY p.line_no)
                   FROM journal_posting p WHERE p.cycle_key = coalesce(l.cycle, '-infinity'::timestamptz) AND p.entry_seq = l.ledger_seq) END AS postings
         FROM listed l LEFT JOIN journal_entry r ON r.reverses_external_id = l.external_id
        ORDER BY l.ledger_seq`,
      params,
    );

    return rows.map((r) => ({
      ...(r.past_budget ? { pastBudget: true } : {}),
      ledgerSeq: r.ledger_seq as string,
      externalId: r.external_id as string,
      entryType: r.entry_type as string,
      effectiveAt: canonicalFromDatabase(r.effective_at) as string,
      cycle: canonicalFromDatabase(r.cycle),
      subtraderId: r.subtrader_id,
      assetClass: r.asset_class as string,
      businessReference: r.business_reference,
      description: r.description,
      reversesExternalId: r.reverses_external_id,
      reversedBy: r.reversed_by,
      importId: r.import_id,
      createdBy: r.created_by as string,
      createdAt: canonicalFromDatabase(r.created_at) as string,
      postings: (r.postings ?? []).map(([account, marketTicker, amount]) => ({ account, marketTicker, amount: BigInt(amount) })),
    }));
  }

  /** The latest ledger_seq (0 when empty): every entry at or below it is committed and final. */
  async findImport(id: string): Promise<LedgerImportRow | null> {
    const rows = (await this.dataSource.query(`SELECT ${IMPORT_COLUMNS} FROM ledger_import i WHERE id = $1`, [id])) as LedgerImportRow[];
    return rows[0] ?? null;
  }

  /** Import attempts newest first; `before` is the last row of the previous page (created_at in microseconds: the column's precision). */
  async listImports(limit: number, before?: { createdAtUs: string; id: string }): Promise<LedgerImportRow[]> {
    return (await this.dataSource.query(
      `SELECT ${IMPORT_COLUMNS} FROM ledger_import i
        WHERE ($1::bigint IS NULL OR ((extract(epoch FROM i.created_at) * 1000000)::bigint, i.id) < ($1::bigint, $2::uuid))
        ORDER BY i.created_at DESC, i.id DESC LIMIT $3`,
      [before?.createdAtUs ?? null, before?.id ?? null, limit],
    )) as LedgerImportRow[];
  }

  /** A page of an import's rejected rows after `afterOrdinal`, in order. */
  async rejectionsPage(
    importId: string,
    afterOrdinal: number,
    limit: number,
  ): Promise<Array<{ ordinal: number; line: number; external_id: string | null; code: string; reason: string }>> {
    return (await this.dataSource.query(
      `SELECT ordinal, line, external_id, code, reason FROM ledger_import_rejection WHERE import_id = $1 AND ordinal > $2 ORDER BY ordinal LIMIT $3`,
      [importId, afterOrdinal, limit],
    )) as Array<{ ordinal: number; line: number; external_id: string | null; code: string; reason: string }>;
  }

  /**
   * Whether the ledger holds an entry of this external_id (a reversal counts: it is an entry too); in `tx`
   * when given, so the answer belongs to the caller's transaction.
   */
  async entryExists(externalId: string, tx?: EntityManager): Promise<boolean> {
    const found = (await (tx ?? this.dataSource).query(`SELECT 1 FROM journal_entry WHERE external_id = $1`, [externalId])) as unknown[];
    return found.length > 0;
  }

  async highWaterMark(): Promise<string> {
    const rows = (await this.dataSource.query('SELECT coalesce(max(ledger_seq), 0)::text AS seq FROM journal_entry')) as Array<{
      seq: string;
    }>;
    return rows[0].seq;
  }
}
