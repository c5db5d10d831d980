// What other apps (the demo) start in-process, through the `@apps/api` alias: the API's Nest
// application, built as `main.ts` builds it.
export { createApiApplication } from './bootstrap';
