/**
 * The part of this process's environment that decides what time a process sees: faketime's preload and
 * settings (`LD_PRELOAD`, `FAKETIME*`) and the time zone. A test that starts a child with an explicit
 * environment passes these on, so that under `faketime -f '+200d' npm test` the child lives in the same
 * time as the test and the simulator (a child in real time would look for reports 200 days back).
 */
export function clockEnvironment(): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && (name === 'LD_PRELOAD' || name === 'TZ' || name.startsWith('FAKETIME') || name === 'DONT_FAKE_MONOTONIC'))
      kept[name] = value;
  }
  return kept;
}
