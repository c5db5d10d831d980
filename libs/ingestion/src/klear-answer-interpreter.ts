import { findEndpoint, type KlearEndpointName } from '@app/klear-contract';
import { type KlearAnswerData, parseKlearAnswerWithUnmapped } from '@app/klear-client';
import type { ObligationEntry } from '@app/klear-contract';
import type { SqlTransaction } from './ingestion-transaction.repository';
import { KlearWithdrawalRepository } from './klear-withdrawal.repository';
import type { ObligationCompletion } from './obligation-completion';
import { insertActiveObligationPull, upsertObligation } from './obligation.repository';
import { insertGuarantyFundSnapshot, insertLargeTraderSnapshot } from './position.repository';
import { escapeNulCharacters } from './postgres-text';
import {
  insertBalanceHistory,
  insertBalanceSnapshot,
  insertEstimateSnapshot,
  insertMemberFundingPayments,
  type ListedMarginReport,
  storeSettlementPrices,
  upsertMarginReports,
} from './settlement.repository';
import { recordSubtraderGroups } from './subtrader.repository';
import { noteUnmappedObligationContent, unmappedContentOf } from './unmapped-content';

export interface Interpretation {
  /** Rows inserted or changed in the derived tables. */
  written: number;
  /** Items the answer held (obligations, entries, reports, ...). */
  read: number;
  /** Obligation history: every obligation on the page was already held unchanged. */
  allKnown: boolean;
  /** Margin reports: the listed reports with their row ids (the job downloads their files). */
  reports?: ListedMarginReport[];
}

export type InterpretableName = Exclude<
  KlearEndpointName,
  | 'logIn'
  | 'withdrawSettlementBalance'
  | 'estimateMaintenanceMargin'
  | 'createSubtraderGroup'
  | 'updateSubtraderGroup'
  | 'deleteSubtraderGroup'
>;

const NOT_INTERPRETED = new Set<KlearEndpointName>([
  'logIn',
  'withdrawSettlementBalance',
  'estimateMaintenanceMargin',
  'createSubtraderGroup',
  'updateSubtraderGroup',
  'deleteSubtraderGroup',
]);

/** The endpoint name of an archived `GET /margin/...` answer. */
export function endpointNameOf(endpoint: string): InterpretableName | undefined {
  const [method, path] = endpoint.split(' ');
  const found = findEndpoint(method, path);
  if (!found || NOT_INTERPRETED.has(found.name)) return undefined;
  return found.name as InterpretableName;
}

/** Interprets an archived body: the same code path as a live answer, from the stored bytes. */
export function interpretArchivedBody(
  tx: SqlTransaction,
  name: InterpretableName,
  body: string,
  archiveId: string,
  receivedAt: Date,
  completion?: ObligationCompletion,
  params: Record<string, string> = {},
): Promise<Interpretation> {
  const { data, unmapped } = parseKlearAnswerWithUnmapped(name, body);
  noteUnmappedContent(name, data, unmapped, body);
  escapeNulCharacters(data);
  return interpretAnswer(tx, name, data, archiveId, receivedAt, completion, params);
}

/** Notes the unmapped fields of an obligation answer's entries (from the body) for their content hash. */
export function noteUnmappedContent(
  name: InterpretableName,
  data: unknown,
  unmapped: readonly string[] | undefined,
  body: string,
  itemBodies?: ReadonlyMap<number, string>,
): void {
  if ((name !== 'obligationHistory' && name !== 'activeObligations') || !unmapped?.some((path) => path.startsWith('obligations[]'))) return;
  const obligations = (data as { obligations: ObligationEntry[] }).obligations;
  // A spooled body: each obligation with unmapped fields comes alone in its envelope.
  if (itemBodies !== undefined) for (const [index, alone] of itemBodies) noteUnmappedObligationContent([obligations[index]], alone);
  else noteUnmappedObligationContent(obligations, body);
}

/** Upserts the obligations of an answer, each in its completed form when its lists were cut. */
async function upsertObligations(
  tx: SqlTransaction,
  entries: ObligationEntry[],
  archiveId: string,
  pulledAt: Date,
  completion: ObligationCompletion | undefined,
) {
  let written = 0;
  let allKnown = true;
  for (const entry of entries) {
    const complete = completion?.entries.get(entry.id) ?? entry;
    const result = await upsertObligation(
      tx,
      complete,
      archiveId,
      pulledAt,
      completion?.completed.get(entry.id) ?? [],
      unmappedContentOf(entry),
    );
    written += result.rowsWritten;
    if (result.outcome !== 'unchanged') allKnown = false;
  }
  return { written, allKnown };
}

/** Writes what one Klear answer says into the derived tables (inside the caller's transaction). */
export async function interpretAnswer<N extends InterpretableName>(
  tx: SqlTransaction,
  name: N,
  data: KlearAnswerData<N>,
  archiveId: string,
  pulledAt: Date,
  completion?: ObligationCompletion,
  /** The request's parameters (the settlement prices answer names neither asset class nor time). */
  params: Record<string, string> = {},
): Promise<Interpretation> {
  const none = { written: 0, read: 1, allKnown: false };
  switch (name) {
    case 'obligationHistory': {
      const page = data as KlearAnswerData<'obligationHistory'>;
      const { written, allKnown } = await upsertObligations(tx, page.obligations, archiveId, pulledAt, completion);
      return { written, read: page.obligations.length, allKnown };
    }
    case 'activeObligations': {
      const answer = data as KlearAnswerData<'activeObligations'>;
      const { written } = await upsertObligations(tx, answer.obligations, archiveId, pulledAt, completion);
      await insertActiveObligationPull(
        tx,
        answer.obligations.map((o) => o.id),
        archiveId,
        pulledAt,
      );
      return { written: written + 1, read: answer.obligations.length, allKnown: false };
    }
    case 'obligationSettlementDetails':
    case 'obligationMaintenanceMarginDetails':
    case 'obligationFundingPayments':
      // A page of a complete list: stored with its obligation, once every page is read.
      return { written: 0, read: 1, allKnown: false };
    case 'settlementPrices': {
      const prices = (data as KlearAnswerData<'settlementPrices'>).settlement_prices;
      if (!params.asset_class || !params.settlement_time) return none;
      return { ...none, written: await storeSettlementPrices(tx, params.asset_class, params.settlement_time, prices, archiveId, pulledAt) };
    }
    case 'memberFundingPayments': {
      const page = data as KlearAnswerData<'memberFundingPayments'>;
      const written = await insertMemberFundingPayments(tx, page.payments, archiveId, pulledAt);
      return { written, read: page.payments.length, allKnown: written === 0 };
    }
    case 'subtraderGroups':
      return { ...none, written: await recordSubtraderGroups(tx, data as KlearAnswerData<'subtraderGroups'>, archiveId, pulledAt) };
    case 'settlementEstimateByAssetClass':
      return {
        ...none,
        written: await insertEstimateSnapshot(
          tx,
          'settlement_estimate_by_asset_class',
          data as KlearAnswerData<'settlementEstimateByAssetClass'>,
          archiveId,
          pulledAt,
        ),
      };
    case 'settlementBalance':
      return { ...none, written: await insertBalanceSnapshot(tx, data as KlearAnswerData<'settlementBalance'>, archiveId, pulledAt) };
    case 'settlementBalanceHistory': {
      const page = data as KlearAnswerData<'settlementBalanceHistory'>;
      const written = await insertBalanceHistory(tx, page.entries, archiveId, pulledAt);
      return { written, read: page.entries.length, allKnown: written === 0 };
    }
    case 'guarantyFundBalance':
      return {
        ...none,
        written: await insertGuarantyFundSnapshot(tx, data as KlearAnswerData<'guarantyFundBalance'>, archiveId, pulledAt),
      };
    case 'largeTraderPositions':
      return {
        ...none,
        written: await insertLargeTraderSnapshot(tx, data as KlearAnswerData<'largeTraderPositions'>, archiveId, pulledAt),
      };
    case 'marginReports':
      return upsertMarginReports(tx, data as KlearAnswerData<'marginReports'>, archiveId, pulledAt);
    case 'settlementBalanceWithdrawal':
      return {
        ...none,
        written: await KlearWithdrawalRepository.recordStatus(
          tx,
          data as KlearAnswerData<'settlementBalanceWithdrawal'>,
          archiveId,
          pulledAt,
        ),
      };
    default:
      throw new Error(`no interpretation for ${String(name)}`);
  }
}
