import { Module } from '@nestjs/common';
import { LedgerModule } from '@app/ledger';
import { LedgerController } from './ledger.controller';
import { LedgerUploadInterceptor } from './ledger-upload.interceptor';
import { UploadsDirectory } from './uploads-directory';

/** HTTP routes of the internal ledger (`/ledger/*`). */
@Module({ imports: [LedgerModule], controllers: [LedgerController], providers: [UploadsDirectory, LedgerUploadInterceptor] })
export class LedgerApiModule {}
