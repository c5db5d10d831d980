import { runExecutorDrill } from './executor-drill';

// node dist/apps/drills/src/executor-drill.main.js  (DATABASE_URL, KLEAR_* and optionally WITHDRAWAL_DRILL_CRASH_AT)
runExecutorDrill().then(
  (summary) => process.stdout.write(`SUMMARY ${JSON.stringify(summary)}\n`),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  },
);
