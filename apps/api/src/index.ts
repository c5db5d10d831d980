// What other apps (the demo) start in-process, through the `@apps/api` alias: the API's Nest
// application, built as `main.ts` builds it. The tests reach the API through the same alias.
export { createApiApplication } from './bootstrap';
export { AUDIT_ENTITIES } from './audit/audit.controller';
export { UploadsDirectory } from './ledger/uploads-directory';
