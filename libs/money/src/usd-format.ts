import { assertCenticents } from './centicents';
import { MoneyError } from './money-error';

export interface FormatUsdOptions {
  /** 2 (cents, the default) or 4 (every centicent shown). */
  decimals?: 2 | 4;
  /**
   * Formatting to 2 decimals never rounds silently: a value with sub-cent centicents throws
   * MONEY_SUB_CENT_PRECISION unless the caller opts in to banker's rounding here. In a clearing back
   * office a silent rounding would show a 0.4-cent break as "no difference" and make two different
   * balances look equal; use formatUsdExact (4 decimals) when the value may carry centicents.
   */
  round?: 'half-even';
}

const CENTICENTS_PER_CENT = 100n;

interface UsdParts {
  negative: boolean;
  /** The whole dollars' digits. */
  whole: string;
  fraction: string;
}

function toUsdParts(centicents: bigint, options: FormatUsdOptions): UsdParts {
  assertCenticents(centicents);
  const { decimals = 2, round } = options;
  const magnitude = centicents < 0n ? -centicents : centicents;
  if (decimals === 4) {
    // Every centicent shown: the digits of the magnitude, split four from the right (the API formats
    // every amount of every row this way; one string split, not a division and a remainder).
    const digits = magnitude.toString().padStart(5, '0');
    return { negative: centicents < 0n, whole: digits.slice(0, -4), fraction: digits.slice(-4) };
  }
  let cents = magnitude / CENTICENTS_PER_CENT;
  const subCent = magnitude % CENTICENTS_PER_CENT;
  if (subCent !== 0n) {
    if (round !== 'half-even') {
      throw new MoneyError(
        'MONEY_SUB_CENT_PRECISION',
        `${centicents} centicents has a fraction of a cent; format it with 4 decimals or ask for rounding explicitly.`,
      );
    }
    const half = CENTICENTS_PER_CENT / 2n;
    if (subCent > half || (subCent === half && cents % 2n === 1n)) cents += 1n;
  }
  // A negative amount that rounds to zero is shown as zero: "-$0.00" would claim a sign it lost.
  return {
    negative: centicents < 0n && cents !== 0n,
    whole: (cents / 100n).toString(),
    fraction: (cents % 100n).toString().padStart(2, '0'),
  };
}

function groupThousands(digits: string): string {
  const head = digits.length % 3 || 3;
  let grouped = digits.slice(0, head);
  for (let i = head; i < digits.length; i += 3) grouped += `,${digits.slice(i, i + 3)}`;
  return grouped;
}

/** For people (UI, workbooks' text, messages): "$1,250,000.00", "-$5.00". */
export function formatUsd(centicents: bigint, options: FormatUsdOptions = {}): string {
  const { negative, whole, fraction } = toUsdParts(centicents, options);
  return `${negative ? '-' : ''}$${groupThousands(whole)}.${fraction}`;
}

/** For people, with every centicent: "$1,250,000.0050". Never throws for an int64 amount. */
export function formatUsdExact(centicents: bigint): string {
  return formatUsd(centicents, { decimals: 4 });
}

/**
 * Plain USD decimal for machines (CSV cells, request bodies, the `amount` of our withdrawal API):
 * "-1250000.00", no "$" and no separators; parseUsd reads it back exactly.
 */
export function usdDecimalString(centicents: bigint, options: FormatUsdOptions = {}): string {
  const { negative, whole, fraction } = toUsdParts(centicents, options);
  return `${negative ? '-' : ''}${whole}.${fraction}`;
}

/**
 * The `amount` of Klear's withdrawal endpoints: exactly 2 decimals ("500.00"), positive. A withdrawal
 * of sub-cent precision cannot be expressed on that wire, so it is refused, never rounded.
 */
export function formatKlearUsd(centicents: bigint): string {
  assertCenticents(centicents);
  if (centicents <= 0n) {
    throw new MoneyError('MONEY_NOT_POSITIVE', `A Klear withdrawal amount must be positive, got ${centicents} centicents.`);
  }
  return usdDecimalString(centicents);
}
