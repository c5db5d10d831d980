import { pathToFileURL } from 'node:url';
import { parseCommandLine } from './command-line';
import { startKlearSimulator } from './simulator';

export { startKlearSimulator } from './simulator';
export type { RunningKlearSimulator } from './simulator';

async function main(): Promise<void> {
  const options = parseCommandLine(process.argv);
  const simulator = await startKlearSimulator(options);
  // Credentials are secrets: only the address is printed.
  process.stdout.write(`klear-sim listening: ${simulator.url} (admin: ${simulator.adminUrl})\n`);
  const stop = () => void simulator.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`klear-sim: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
