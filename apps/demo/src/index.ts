// What the tests reach through the `@apps/demo` alias: the demo's mailbox (SMTP in, a small web page
// out), which notification tests use as their mail server.
export { startMailbox } from './mailbox';
export type { Mailbox, ReceivedMail } from './mailbox';
