import { z } from 'zod';
import { formatTimestamp } from './clock';
import { BadRequest } from './http-io';
import type { SimulatorState } from './state';

export const KLEAR_ERROR_KINDS = ['wrong_detail_total', 'wrong_margin_delta'] as const;

export const klearErrorsRequestSchema = z.object({
  errors: z
    .array(
      z.object({
        kind: z.enum(KLEAR_ERROR_KINDS),
        cycle: z.string().optional(),
        subtrader_id: z.string().optional(),
        market_ticker: z.string().optional(),
      }),
    )
    .min(1)
    .max(100),
});
export type KlearErrorsRequest = z.infer<typeof klearErrorsRequestSchema>;

/** Error added to a published figure: the k-th request of a kind adds 50 + k (total) or 400 + k (margin delta). */
const BASE_ERROR = { wrong_detail_total: 50n, wrong_margin_delta: 400n } as const;

/**
 * Makes Klear publish figures that contradict its own other figures, from now on: a settlement
 * detail whose total_amount is not pnl - fees, or a subtrader's margin delta that is not its
 * requirement minus the previous cycle's; the obligation's amount follows the published figures (so
 * only the detail-level rule can see them). The answer key then expects the klear_consistency breaks.
 * Defaults: the k-th error hits the last settled cycle, subtrader k and market k.
 */
export function applyKlearErrors(state: SimulatorState, request: KlearErrorsRequest) {
  const { world } = state;
  const last = state.lastSettledCycle();
  if (last < 0) throw new BadRequest('invalid_parameter', 'no settled cycle yet');
  return request.errors.map((wanted, k) => {
    const cycle = wanted.cycle === undefined ? last : state.schedule.lastIndexAtOrBefore(Date.parse(wanted.cycle));
    if (wanted.cycle !== undefined && (cycle < 0 || cycle > last || state.schedule.timeOf(cycle) !== Date.parse(wanted.cycle))) {
      throw new BadRequest('invalid_parameter', `errors[${k}].cycle: ${wanted.cycle} is not the execution time of a settled cycle`);
    }
    if (wanted.kind === 'wrong_margin_delta' && cycle === 0)
      throw new BadRequest('invalid_parameter', `errors[${k}]: the first cycle has no previous requirement to contradict`);
    const subtrader = wanted.subtrader_id === undefined ? k % world.subtraderCount : world.subtraderIds.indexOf(wanted.subtrader_id);
    const market = wanted.market_ticker === undefined ? k % world.marketCount : world.tickers.indexOf(wanted.market_ticker);
    if (subtrader < 0 || market < 0) throw new BadRequest('invalid_parameter', `errors[${k}]: unknown subtrader or market`);
    const error = BASE_ERROR[wanted.kind] + BigInt(k);
    state.addKlearError({ kind: wanted.kind, cycle, subtrader, market, error });
    return {
      kind: wanted.kind,
      cycle: formatTimestamp(state.schedule.timeOf(cycle)),
      subtrader_id: world.subtraderIds[subtrader],
      ...(wanted.kind === 'wrong_detail_total' ? { market_ticker: world.tickers[market] } : {}),
      error_centicents: error.toString(),
    };
  });
}
