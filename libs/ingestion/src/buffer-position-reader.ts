import { Inject, Injectable } from '@nestjs/common';
import { type KlearAnswerData, KlearClient, type KlearResponse, closedIfRejected } from '@app/klear-client';
import { IngestionTransactionRepository } from './ingestion-transaction.repository';
import { type InterpretableName, interpretAnswer, noteUnmappedContent } from './klear-answer-interpreter';
import { completeObligations, klearDetailPager } from './obligation-completion';
import { ObligationRepository } from './obligation.repository';
import { ResponseArchiveRepository } from './response-archive.repository';
import { SettlementRepository } from './settlement.repository';

/**
 * What the withdrawal workflow reads of the buffer's position as ingestion keeps it: the latest
 * settlement balance, the active obligations and the latest estimate by asset class, and each one
 * read from Klear again and kept the way ingestion keeps it (archived, then interpreted into its
 * snapshot table; truncated obligations completed from the paged endpoints first).
 */
@Injectable()
export class BufferPositionReader {
  constructor(
    private readonly settlement: SettlementRepository,
    private readonly obligations: ObligationRepository,
    private readonly archive: ResponseArchiveRepository,
    private readonly transactions: IngestionTransactionRepository,
    @Inject(KlearClient) private readonly client: KlearClient,
  ) {}

  latestBalance() {
    return this.settlement.latestBalance();
  }

  /** Reads the settlement balance from Klear and keeps it; answers Klear's answer. */
  async refreshBalance(): Promise<KlearResponse<KlearAnswerData<'settlementBalance'>>> {
    const answer = await closedIfRejected(this.client.getSettlementBalance());
    await this.keep('settlementBalance', answer);
    return answer;
  }

  activeObligations() {
    return this.obligations.active();
  }

  /** Reads the active obligations from Klear, completes truncated lists from the paged endpoints, and keeps them. */
  async refreshActiveObligations(): Promise<void> {
    const answer = await closedIfRejected(this.client.getActiveObligations());
    const archiveId = await this.archive.append(answer.raw, null);
    // Hashed as the ingestion job hashes it (unmapped fields included), so the two never flip versions.
    noteUnmappedContent('activeObligations', answer.data, answer.unmapped, answer.raw.body, answer.itemBodies);
    const completion = await completeObligations(
      answer.data.obligations,
      klearDetailPager(this.client, async (page) => void (await this.archive.append(page.raw, null))),
      (entry) => this.obligations.isHeldComplete(entry),
    );
    await this.transactions.run((tx) =>
      interpretAnswer(tx, 'activeObligations', answer.data, archiveId, answer.raw.receivedAt, completion),
    );
  }

  latestEstimateByAssetClass() {
    return this.settlement.latestEstimate('settlement_estimate_by_asset_class');
  }

  /** Reads the settlement estimate by asset class from Klear and keeps it. */
  async refreshEstimateByAssetClass(): Promise<void> {
    await this.keep('settlementEstimateByAssetClass', await closedIfRejected(this.client.getSettlementEstimateByAssetClass()));
  }

  private async keep<N extends InterpretableName>(name: N, answer: KlearResponse<KlearAnswerData<N>>): Promise<void> {
    const archiveId = await this.archive.append(answer.raw, null);
    noteUnmappedContent(name, answer.data, answer.unmapped, answer.raw.body, answer.itemBodies);
    await this.transactions.run((tx) => interpretAnswer(tx, name, answer.data, archiveId, answer.raw.receivedAt));
  }
}
