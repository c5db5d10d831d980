import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { DepositRecord, WithdrawalRecord } from './state';

/**
 * What the simulator cannot derive from its seed, kept in a file (`--state-file`) so that Klear and the
 * product keep agreeing across restarts (the demo's data directory): the world's anchor (the instant
 * its cycle numbering starts from, so cycle and obligation ids stay the same), every deposit and every
 * withdrawal (ids, amounts, times: the next withdrawal id follows the last one). Admin-path fault
 * injections (Klear errors, obligation changes) are test devices and are not kept.
 */
interface PersistedSimState {
  version: 1;
  anchorAt: string;
  deposits: Array<Omit<DepositRecord, 'amount'> & { amount: string }>;
  withdrawals: Array<Omit<WithdrawalRecord, 'amount'> & { amount: string }>;
}

export interface RestoredSimState {
  anchorMs: number;
  deposits: DepositRecord[];
  withdrawals: WithdrawalRecord[];
}

export function loadSimState(file: string): RestoredSimState | null {
  if (!existsSync(file)) return null;
  const saved = JSON.parse(readFileSync(file, 'utf8')) as PersistedSimState;
  if (saved.version !== 1 || Number.isNaN(Date.parse(saved.anchorAt))) throw new Error(`${file}: not a simulator state file (version 1)`);
  return {
    anchorMs: Date.parse(saved.anchorAt),
    deposits: saved.deposits.map((d) => ({ ...d, amount: BigInt(d.amount) })),
    withdrawals: saved.withdrawals.map((w) => ({ ...w, amount: BigInt(w.amount) })),
  };
}

/** Written whole after each change, through a temporary file and a rename: a crash leaves the old or the new state, never half. */
export function saveSimState(
  file: string,
  state: { anchorMs: number; deposits: readonly DepositRecord[]; withdrawals: readonly WithdrawalRecord[] },
): void {
  const body: PersistedSimState = {
    version: 1,
    anchorAt: new Date(state.anchorMs).toISOString(),
    deposits: state.deposits.map((d) => ({ ...d, amount: d.amount.toString() })),
    withdrawals: state.withdrawals.map((w) => ({ ...w, amount: w.amount.toString() })),
  };
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(body, null, 1)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}
