/**
 * The one builder of break keys (docs/ledger-and-breaks.md, "Breaks"): the parts of a key joined by
 * `/`, each part percent-encoded first (`%` -> `%25`, `/` -> `%2F`, NULL -> empty) by the SQL
 * function recon_key_part, so that no two different part lists give the same key (subtrader `A/B`
 * with market `C` is `A%2FB/C`, subtrader `A` with market `B/C` is `A/B%2FC`).
 *
 * Each part is an SQL expression (a quoted literal, a parameter, a column); the answer is the SQL
 * expression of the key.
 */
export function breakKeySql(...parts: string[]): string {
  return parts.map((part) => `recon_key_part(${part})`).join(` || '/' || `);
}

/** The same encoding in TypeScript, for keys built outside SQL (documentation, tests, tools). */
export function breakKey(...parts: Array<string | null>): string {
  return parts.map((part) => (part ?? '').replaceAll('%', '%25').replaceAll('/', '%2F')).join('/');
}
