import { runSenderDrill } from './sender-drill';

// node dist/apps/drills/src/sender-drill.main.js  (DATABASE_URL, NOTIFY_SMTP_URL and optionally NOTIFY_DRILL_CRASH_AT=<step>:<n>)
runSenderDrill().then(
  (summary) => process.stdout.write(`SUMMARY ${JSON.stringify(summary)}\n`),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  },
);
