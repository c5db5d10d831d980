// What the tests start in-process, through the `@apps/worker` alias: the worker's Nest
// application context, built as `main.ts` builds it.
export { createWorkerApplication } from './bootstrap';
