import { Conflict, DomainError, type FieldProblem, InvalidInput } from '@app/errors';

/** 400: entries of a batch break the format or the ledger rules; every problem named with its index. */
export class LedgerValidationFailed extends InvalidInput {
  constructor(details: FieldProblem[]) {
    super(
      `${details.length} problem(s) in the batch; nothing was posted: ${details
        .slice(0, 5)
        .map((d) => `${d.field}: ${d.problems.join('; ')}`)
        .join(' | ')}`.slice(0, 2000),
      details,
    );
  }
}

/** 409: an external_id is already booked with different content. */
export class LedgerEntryConflict extends Conflict {
  constructor(conflicts: Array<{ field: string; externalId: string }>) {
    super(
      'LEDGER_ENTRY_CONFLICT',
      `external_id ${conflicts
        .map((c) => c.externalId)
        .slice(0, 10)
        .join(', ')} already booked with different content; nothing was posted (book a reversal to correct an entry)`,
      conflicts.map((c) => ({ field: c.field, external_id: c.externalId, problems: ['already booked with different content'] })),
    );
  }
}

/** 400: an import with rejected rows and no `partial=true`: nothing imported; details is the import report. */
export class LedgerImportRejected extends DomainError {
  constructor(message: string, report: unknown) {
    super('LEDGER_IMPORT_REJECTED', 'invalid', message, report);
  }
}

/** 400: not a CSV or XLSX file. */
export class LedgerImportUnsupported extends DomainError {
  constructor(message: string) {
    super('LEDGER_IMPORT_UNSUPPORTED_FILE', 'invalid', message);
  }
}

/** 413: the upload is larger than LEDGER_IMPORT_MAX_BYTES. */
export class LedgerImportTooLarge extends DomainError {
  constructor(maxBytes: number) {
    super(
      'LEDGER_IMPORT_TOO_LARGE',
      'too_large',
      `the file exceeds the import limit of ${maxBytes} bytes (LEDGER_IMPORT_MAX_BYTES); split it`,
      { max_bytes: maxBytes },
    );
  }
}

/** 413: the file passes LEDGER_IMPORT_MAX_ROWS or (XLSX) LEDGER_IMPORT_MAX_UNCOMPRESSED_BYTES; reading stopped there. */
export class LedgerImportLimitExceeded extends DomainError {
  constructor(
    readonly limit: 'rows' | 'uncompressed_bytes',
    readonly max: number,
  ) {
    super(
      limit === 'rows' ? 'LEDGER_IMPORT_TOO_MANY_ROWS' : 'LEDGER_IMPORT_UNCOMPRESSED_TOO_LARGE',
      'too_large',
      limit === 'rows'
        ? `the file has more than ${max} rows (LEDGER_IMPORT_MAX_ROWS); split it`
        : `the workbook unpacks to more than ${max} bytes (LEDGER_IMPORT_MAX_UNCOMPRESSED_BYTES); split it or save it as CSV`,
      { limit: limit === 'rows' ? 'LEDGER_IMPORT_MAX_ROWS' : 'LEDGER_IMPORT_MAX_UNCOMPRESSED_BYTES', max },
    );
  }
}
