/**
 * Money in the console comes only from the API's decimal strings and is formatted as text (BigInt
 * arithmetic, never a JS number): "2500000000" centicents -> "$250,000.00".
 */
export function formatCenticents(value: string | null | undefined): string {
  if (value === null || value === undefined || value === '') return '—';
  if (!/^-?\d+$/.test(value)) return value;
  const negative = value.startsWith('-');
  const digits = (negative ? value.slice(1) : value).padStart(5, '0');
  const whole = digits.slice(0, -4).replace(/^0+(?=\d)/, '');
  let fraction = digits.slice(-4);
  if (fraction.endsWith('00')) fraction = fraction.slice(0, 2);
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${negative ? '-' : ''}$${grouped}.${fraction}`;
}

/** Sign of a decimal string without converting it to a number. */
export function isNegative(value: string | null | undefined): boolean {
  return typeof value === 'string' && value.startsWith('-') && /[1-9]/.test(value);
}

/**
 * Dollars as a JS number, for placing a point on a chart only (a double rounds beyond 2^53 centicents
 * and at sub-cent precision: never use it for a figure a person reads; those come from formatCenticents).
 */
export function centicentsForPlot(value: string | null | undefined): number | null {
  if (value === null || value === undefined || !/^-?\d+$/.test(value)) return null;
  const c = BigInt(value);
  return Number(c / 100n) / 100 + Number(c % 100n) / 10_000;
}
