import { Injectable } from '@nestjs/common';
import { ReconciliationSummariesRepository, type SummariesRebuilt, type SummaryDifference } from './reconciliation-summaries.repository';

/**
 * The per-(cycle, subtrader) summaries reconciliation reads are maintained by triggers on the
 * source tables (migrations ReconciliationSummaries, ReconciliationCorrectness, FundingSummaries). This checks them
 * against the source rows, recomputed by security-definer functions that hold the fingerprint key
 * (the application never reads it), and rebuilds them; both read every detail and posting, so they
 * are operator commands
 * (`npm run cli -- recon:verify-summaries`, `recon:rebuild-summaries`), not part of a run.
 */
@Injectable()
export class ReconciliationSummaries {
  constructor(private readonly summaries: ReconciliationSummariesRepository) {}

  /** Every summary row that differs from its source rows (none when the triggers did their job). */
  verify(): Promise<SummaryDifference[]> {
    return this.summaries.differences();
  }

  /**
   * Recomputes every summary from the source rows in one transaction, writers held off meanwhile
   * (after a restore that bypassed triggers, or a PostgreSQL major upgrade that changed the hash).
   */
  rebuild(actor: string): Promise<SummariesRebuilt> {
    return this.summaries.rebuild((outcome) => ({
      actor,
      action: 'reconciliation.summaries_rebuilt',
      entityType: 'recon_summary',
      entityId: 'all',
      details: { ...outcome },
    }));
  }
}
