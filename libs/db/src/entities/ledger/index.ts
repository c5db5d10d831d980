import { JournalEntry } from './journal-entry.entity';
import { JournalPosting } from './journal-posting.entity';
import { LedgerImport, LedgerImportRejection } from './ledger-import.entity';
import { Subtrader } from './subtrader.entity';

export * from './journal-entry.entity';
export * from './journal-posting.entity';
export * from './ledger-import.entity';
export * from './subtrader.entity';

export const LEDGER_ENTITIES = [Subtrader, LedgerImport, LedgerImportRejection, JournalEntry, JournalPosting];
