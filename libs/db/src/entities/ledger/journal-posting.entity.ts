import { bigintColumnTransformer } from '@app/money';
import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { JournalEntry } from './journal-entry.entity';
import { LedgerBookingScope } from './ledger-booking-scope';

/**
 * One leg of a journal entry. `cycle` and `subtrader_id` are copied from the entry (the commit
 * trigger checks they match) so reconciliation aggregates a million postings with a single-table
 * GROUP BY over the (cycle, subtrader, account, market) index instead of a join.
 */
@Entity({ name: 'journal_posting' })
@Check('journal_posting_cycle_key', `"cycle_key" = coalesce("cycle", '-infinity')`)
@Index(['cycle', 'subtraderId', 'account', 'marketTicker'])
// Buffer movements (no cycle) and margin requirements are found by account first.
@Index(['account', 'cycle'])
export class JournalPosting extends LedgerBookingScope {
  @PrimaryColumn({ type: 'bigint', name: 'entry_seq' })
  entrySeq: string;

  /** 1-based position of the posting within its entry. */
  @PrimaryColumn({ type: 'integer', name: 'line_no' })
  lineNo: number;

  @ManyToOne(() => JournalEntry, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'entry_seq', referencedColumnName: 'ledgerSeq' })
  entry?: JournalEntry;

  @Column({ type: 'text' })
  account: string;

  @Column({ type: 'text', name: 'market_ticker', nullable: true })
  marketTicker: string | null;

  @Column({ type: 'bigint', name: 'amount_centicents', transformer: bigintColumnTransformer })
  amountCenticents: bigint;

  /**
   * The partition key: `cycle`, or '-infinity' for postings without one (a CHECK holds it so).
   * Monthly partitions; docs/partitioning-and-retention.md.
   */
  @PrimaryColumn({ type: 'timestamptz', name: 'cycle_key', default: () => "'-infinity'" })
  cycleKey: Date;
}
