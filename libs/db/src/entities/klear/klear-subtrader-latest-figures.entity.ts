import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintColumn, money, optionalMoney } from '../columns';

/**
 * Each subtrader's figures in the latest cycle (every obligation of the greatest execution_time), as
 * GET /subtraders answers them: one row per subtrader with figures in that cycle, made equal to
 * `klear_subtrader_latest_figures_recomputed()` by `klear_subtrader_latest_figures_refresh()` in the
 * transaction that stores an obligation of the latest cycle (migration LatestSubtraderFigures; issue 18:
 * a page reads a table the registry's size, not three that grow with every cycle). Written only by
 * that function (ingestion, `recon:rebuild-summaries`) and emptied by an archive rebuild.
 */
@Entity({ name: 'klear_subtrader_latest_figures' })
export class KlearSubtraderLatestFigures {
  @PrimaryColumn({ type: 'text', name: 'subtrader_id' })
  subtraderId: string;

  /** The latest cycle's execution_time when the row was written: a reader uses only rows of the cycle latest now. */
  @Column({ type: 'timestamptz' })
  cycle: Date;

  /** Sums of the cycle's settlement details; null when the subtrader has none in it. */
  @Column({ ...optionalMoney, name: 'pnl_centicents' })
  pnlCenticents: bigint | null;

  @Column({ ...optionalMoney, name: 'fees_centicents' })
  feesCenticents: bigint | null;

  @Column({ ...optionalMoney, name: 'total_centicents' })
  totalCenticents: bigint | null;

  /** Sums of the cycle's maintenance margin rows; null when the subtrader has none in it. */
  @Column({ ...optionalMoney, name: 'maintenance_margin_centicents' })
  maintenanceMarginCenticents: bigint | null;

  @Column({ ...optionalMoney, name: 'maintenance_margin_delta_centicents' })
  maintenanceMarginDeltaCenticents: bigint | null;

  /** The cycle's funding payments: their sum and count (0 and 0 when none). */
  @Column({ ...money, name: 'funding_centicents' })
  fundingCenticents: bigint;

  @Column({ ...bigintColumn, name: 'funding_payment_count' })
  fundingPaymentCount: bigint;
}
