const NUL = '\u0000';
/** What a NUL character is stored as: the six characters of its JSON escape. */
export const ESCAPED_NUL = '\\u0000';

/**
 * PostgreSQL text cannot hold U+0000, which a valid JSON string can: a page carrying one would fail on
 * every run and block the walk. Replaces it, in every string of a parsed answer (in place), with the
 * six characters `\u0000`, and answers the paths it changed (recorded as contract errors on the run;
 * the archive keeps the body as Klear sent it).
 */
export function escapeNulCharacters(value: unknown, path = ''): string[] {
  const changed: string[] = [];
  const visit = (holder: Record<string | number, unknown>, key: string | number, at: string) => {
    const item = holder[key];
    if (typeof item === 'string') {
      if (item.includes(NUL)) {
        holder[key] = item.split(NUL).join(ESCAPED_NUL);
        changed.push(at);
      }
    } else if (item !== null && typeof item === 'object') {
      changed.push(...escapeNulCharacters(item, at));
    }
  };
  if (Array.isArray(value)) value.forEach((_, i) => visit(value as unknown as Record<number, unknown>, i, `${path}[${i}]`));
  else if (value !== null && typeof value === 'object')
    for (const key of Object.keys(value)) visit(value as Record<string, unknown>, key, path ? `${path}.${key}` : key);
  return changed;
}
