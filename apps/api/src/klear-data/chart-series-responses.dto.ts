import { ApiProperty } from '@nestjs/swagger';

/*
 * The answers of the chart series routes (GET /settlement/buffer-by-day, GET /subtraders/{id}/cycles),
 * as documented in /docs-json. Money: centicents as decimal strings, with the exact USD text beside.
 */

const cc = (example: string, description = 'centicents, decimal string') => ({ type: String, nullable: true, example, description });
const usd = (example: string) => ({ type: String, nullable: true, example });

export class BufferDayView {
  @ApiProperty({ example: '2026-11-03', description: 'settlement day (America/New_York)' }) date: string;
  @ApiProperty(cc('500000000000', "available at the day's last balance pull; null before the first pull")) available_centicents:
    string | null;
  @ApiProperty(usd('$50,000,000.0000')) available_usd: string | null;
  @ApiProperty(cc('2500000000')) locked_centicents: string | null;
  @ApiProperty(usd('$250,000.0000')) locked_usd: string | null;
  @ApiProperty(cc('502500000000', 'available + locked')) balance_centicents: string | null;
  @ApiProperty(usd('$50,250,000.0000')) balance_usd: string | null;
  @ApiProperty(cc('12503400', "what the member pays for the day's cycles (0 when nothing)")) payable_centicents: string | null;
  @ApiProperty(usd('$1,250.3400')) payable_usd: string | null;
  @ApiProperty(cc('0', "what the member receives for the day's cycles")) receivable_centicents: string | null;
  @ApiProperty(usd('$0.0000')) receivable_usd: string | null;
  @ApiProperty({ example: 1, description: "the day's cycles with an ingested obligation" }) cycles: number;
}

export class BufferByDayView {
  @ApiProperty({ example: '2026-10-05' }) from: string;
  @ApiProperty({ example: '2026-11-03' }) to: string;
  @ApiProperty({ type: [BufferDayView] }) days: BufferDayView[];
}

export class SubtraderCycleView {
  @ApiProperty({ format: 'date-time', description: "the cycle: Klear's execution time" }) cycle: string;
  @ApiProperty({ type: [String], example: ['Crypto'] }) asset_classes: string[];
  @ApiProperty(cc('-9000000', 'null: the subtrader had no settlement detail in this cycle')) pnl_centicents: string | null;
  @ApiProperty(usd('-$900.0000')) pnl_usd: string | null;
  @ApiProperty(cc('3400')) fees_centicents: string | null;
  @ApiProperty(usd('$0.3400')) fees_usd: string | null;
  @ApiProperty(cc('35000000', 'null: no margin detail in this cycle')) maintenance_margin_centicents: string | null;
  @ApiProperty(usd('$3,500.0000')) maintenance_margin_usd: string | null;
}

export class SubtraderCyclesView {
  @ApiProperty({ example: 'ST-00042' }) subtrader_id: string;
  @ApiProperty({ type: [SubtraderCycleView], description: 'oldest first' }) cycles: SubtraderCycleView[];
}
