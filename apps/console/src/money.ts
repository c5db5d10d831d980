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
