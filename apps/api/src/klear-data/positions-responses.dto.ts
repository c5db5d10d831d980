import { ApiProperty } from '@nestjs/swagger';

/* The answers of GET /guaranty-fund and GET /large-trader-positions, as documented in /docs-json. */

export class GuarantyFundPullView {
  @ApiProperty({ type: String, nullable: true, example: '500000000', description: 'centicents, decimal string' }) amount_centicents:
    string | null;
  @ApiProperty({ type: String, nullable: true, example: '$50,000.0000' }) amount_usd: string | null;
  @ApiProperty({ format: 'date-time', description: "Klear's update time" }) updated_ts: string;
  @ApiProperty({ format: 'date-time' }) pulled_at: string;
  @ApiProperty({ example: 'member-1' }) user_id: string;
}

export class LargeTraderPositionView {
  @ApiProperty({ example: 'BTC-PERP' }) market_ticker: string;
  @ApiProperty({ example: '-1200', description: 'signed contract count, decimal string' }) position: string;
}

export class LargeTraderReportView {
  @ApiProperty({ type: String, nullable: true, example: '2026-11-03' }) report_date: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) pulled_at: string | null;
  @ApiProperty({ type: String, nullable: true }) user_id: string | null;
  @ApiProperty({ type: [LargeTraderPositionView], description: 'largest absolute position first' }) positions: LargeTraderPositionView[];
  @ApiProperty({ type: [String], description: 'the days that have a report' }) report_dates: string[];
}
