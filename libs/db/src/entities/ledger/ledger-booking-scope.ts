import { Column } from 'typeorm';

/**
 * What a journal entry books for: the settlement cycle (Klear's execution_time), the subtrader and
 * the asset class (Klear settles each on its own obligation; Crypto when the entry names none). Each
 * posting carries a copy of its entry's (the commit trigger checks that cycle and subtrader_id match).
 */
export abstract class LedgerBookingScope {
  @Column({ type: 'timestamptz', nullable: true })
  cycle: Date | null;

  @Column({ type: 'text', name: 'subtrader_id', nullable: true })
  subtraderId: string | null;

  @Column({ type: 'text', name: 'asset_class', default: 'Crypto' })
  assetClass: string;
}
