import { Injectable, Logger } from '@nestjs/common';
import { parseKlearAnswer } from '@app/klear-client';
import { ENDPOINTS, type ObligationEntry } from '@app/klear-contract';
import { endpointNameOf, interpretArchivedBody } from './klear-answer-interpreter';
import { type DetailListName, type ObligationCompletion, completeObligations, pageByPage } from './obligation-completion';
import { DerivedTablesRepository } from './derived-tables.repository';
import { KlearWithdrawalRepository } from './klear-withdrawal.repository';
import { IngestionTransactionRepository } from './ingestion-transaction.repository';
import { ObligationRepository } from './obligation.repository';
import { type ArchivedAnswer, ResponseArchiveRepository } from './response-archive.repository';

const PAGED_ENDPOINT: Record<
  DetailListName,
  'obligationSettlementDetails' | 'obligationMaintenanceMarginDetails' | 'obligationFundingPayments'
> = {
  settlement_details: 'obligationSettlementDetails',
  maintenance_margin_details: 'obligationMaintenanceMarginDetails',
  funding_payments: 'obligationFundingPayments',
};

export interface RebuildResult {
  answers: number;
  skipped: number;
  written: number;
}

/**
 * Re-parses every archived Klear answer, oldest first, through the same interpretation as live
 * ingestion, after emptying the derived tables. Report rows keep their stored file columns (the
 * listing re-creates the rows; the file fields are restored by identity).
 */
@Injectable()
export class ArchiveRebuild {
  private readonly logger = new Logger('ArchiveRebuild');

  constructor(
    private readonly archive: ResponseArchiveRepository,
    private readonly derived: DerivedTablesRepository,
    private readonly transactions: IngestionTransactionRepository,
    private readonly obligations: ObligationRepository,
    private readonly klearWithdrawals: KlearWithdrawalRepository,
  ) {}

  async rebuildFromArchive(): Promise<RebuildResult> {
    const files = await this.derived.downloadedReportFiles();
    await this.derived.empty();
    await this.klearWithdrawals.clearPolledStatus();
    const result: RebuildResult = { answers: 0, skipped: 0, written: 0 };
    for await (const answer of this.archive.inOrder()) {
      const name = endpointNameOf(answer.endpoint);
      if (!name) {
        result.skipped++;
        continue;
      }
      try {
        const completion =
          name === 'obligationHistory' || name === 'activeObligations' ? await this.completeFromArchive(name, answer) : undefined;
        const done = await this.transactions.run((tx) =>
          interpretArchivedBody(tx, name, answer.body, answer.id, answer.receivedAt, completion, answer.params),
        );
        result.answers++;
        result.written += done.written;
      } catch (error) {
        // An answer that never matched the contract was archived for diagnosis: it stays skipped.
        result.skipped++;
        this.logger.warn(`archive #${answer.id} (${answer.endpoint}) not interpretable: ${(error as Error).message.slice(0, 200)}`);
      }
    }
    await this.derived.restoreReportFiles(files);
    this.logger.log(`rebuilt from ${result.answers} archived answers (${result.skipped} skipped)`);
    return result;
  }

  /**
   * Completes an archived answer's truncated obligations from the detail pages the same job run
   * archived after it (the cursor chain from the first page to the last), as live ingestion did.
   */
  private async completeFromArchive(
    name: 'obligationHistory' | 'activeObligations',
    answer: ArchivedAnswer,
  ): Promise<ObligationCompletion> {
    const entries = (parseKlearAnswer(name, answer.body) as { obligations: ObligationEntry[] }).obligations;
    return completeObligations(
      entries,
      pageByPage(async (obligationId, list, cursor) => {
        const endpoint = PAGED_ENDPOINT[list];
        const page = await this.archive.detailPageAfter(
          answer,
          `${ENDPOINTS[endpoint].method} ${ENDPOINTS[endpoint].path}`,
          obligationId,
          cursor,
        );
        if (page === undefined) throw new Error(`obligation ${obligationId}: no archived ${list} page${cursor ? ' for its cursor' : ''}`);
        const data = parseKlearAnswer(endpoint, page) as unknown as Record<DetailListName, ObligationEntry[DetailListName]> & {
          cursor?: string;
        };
        return { rows: data[list], cursor: data.cursor };
      }),
      (entry) => this.obligations.isHeldComplete(entry),
    );
  }
}
