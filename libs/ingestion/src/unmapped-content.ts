import { LosslessNumber } from 'lossless-json';
import { type ObligationEntry, parseKlearJson, stringifyKlearJson } from '@app/klear-contract';

/**
 * Fields Klear sent that the contract does not name are dropped by the parser, yet they are part of
 * what Klear says: an obligation's unmapped fields (from the raw body) go into its content hash, so a
 * change touching only them still makes a new version. Kept beside the parsed entry, by identity.
 */
const unmappedByEntry = new WeakMap<object, string>();

/** The raw fields `parsed` lacks, as [path, value] (list items named by their id when they have one). */
export function droppedFields(raw: unknown, parsed: unknown, path = '', out: Array<[string, unknown]> = []): Array<[string, unknown]> {
  if (Array.isArray(raw) && Array.isArray(parsed)) {
    raw.forEach((item, i) => {
      const id =
        item !== null && typeof item === 'object' && typeof (item as { id?: unknown }).id === 'string'
          ? (item as { id: string }).id
          : String(i);
      droppedFields(item, parsed[i], `${path}[${id}]`, out);
    });
    return out;
  }
  if (raw === null || typeof raw !== 'object' || raw instanceof LosslessNumber || parsed === null || typeof parsed !== 'object') return out;
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    const at = path ? `${path}.${name}` : name;
    if (name in (parsed as Record<string, unknown>)) droppedFields(value, (parsed as Record<string, unknown>)[name], at, out);
    else out.push([at, value]);
  }
  return out;
}

/**
 * Notes each obligation's unmapped fields from the body it was parsed from (the parser keeps the
 * order of the list). Only called when the client reported unmapped fields: the body is parsed again.
 */
export function noteUnmappedObligationContent(obligations: readonly ObligationEntry[], body: string): void {
  const raw = (parseKlearJson(body) as { obligations?: unknown[] }).obligations ?? [];
  obligations.forEach((entry, i) => {
    const dropped = droppedFields(raw[i], entry).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (dropped.length > 0) unmappedByEntry.set(entry, stringifyKlearJson(dropped));
  });
}

/** The canonical text of an entry's unmapped fields, or undefined when it has none. */
export function unmappedContentOf(entry: ObligationEntry): string | undefined {
  return unmappedByEntry.get(entry);
}
