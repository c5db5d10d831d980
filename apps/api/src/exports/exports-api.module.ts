import { Module } from '@nestjs/common';
import { ExportsModule } from '@app/exports';
import { ExportsController } from './exports.controller';

/** Daily workbook routes (`/exports/*`); also registers the daily_workbook job for `POST /jobs/{name}/run`. */
@Module({ imports: [ExportsModule], controllers: [ExportsController] })
export class ExportsApiModule {}
