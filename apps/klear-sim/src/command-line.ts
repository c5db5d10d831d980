import { Command, Option } from 'commander';
import type { SimulatorOptions } from './options';
import { DEFAULT_OPTIONS, OPTION_SPECS, START_NOW } from './options';

/** Parses argv (each option also read from its KLEAR_SIM_* environment twin). */
export function parseCommandLine(argv: string[]): Partial<SimulatorOptions> {
  const program = new Command('klear-sim').description('A deterministic, fault-injecting Klear API simulator');
  for (const spec of Object.values(OPTION_SPECS)) {
    const fallback = DEFAULT_OPTIONS[spec.key];
    const shown = spec.key === 'startAt' ? START_NOW : Array.isArray(fallback) ? fallback.join(',') : String(fallback);
    program.addOption(
      new Option(
        `${spec.flag} <value>`,
        `${spec.description} (default: ${spec.key === 'rateLimit' ? (fallback ? 'on' : 'off') : JSON.stringify(shown)})`,
      )
        .env(spec.env)
        .argParser((raw: string) => spec.parse(raw)),
    );
  }
  program.parse(argv);
  const parsed = program.opts() as Partial<SimulatorOptions>;
  const options = Object.fromEntries(Object.entries(parsed).filter(([, value]) => value !== undefined)) as Partial<SimulatorOptions>;
  // From the command line Klear's world follows real time unless --start-at fixes it.
  return { startAt: START_NOW, ...options };
}
