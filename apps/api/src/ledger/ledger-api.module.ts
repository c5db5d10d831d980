import { Module } from '@nestjs/common';
import { LedgerModule } from '@app/ledger';
import { LedgerController } from './ledger.controller';
import { LedgerUploadInterceptor } from './ledger-upload.interceptor';

/** HTTP routes of the internal ledger (`/ledger/*`). */
@Module({ imports: [LedgerModule], controllers: [LedgerController], providers: [LedgerUploadInterceptor] })
export class LedgerApiModule {}
