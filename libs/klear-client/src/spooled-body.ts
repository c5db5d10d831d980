import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

/**
 * A JSON object read from a file as a stream, never whole: the first top-level member whose value is
 * an array (the answer's list: `obligations`, `entries`, `settlement_details`, ...) is handed over one
 * item at a time, as the item's text; the rest (the envelope: `cursor`, ...) is kept, with that list
 * written empty. Memory: one item and the envelope.
 */
export interface SpooledEnvelope {
  /** The object's text with its list written `[]`. */
  text: string;
  /** The list's member name, and where its `[` is in `text` (undefined: no list). */
  list?: { key: string; at: number };
}

/**
 * Scans the JSON object in `path`; calls `onItem` with each item of its first top-level list (in
 * order). Throws on text that is not one JSON object (what is malformed inside an item or the
 * envelope is left to the JSON parser).
 */
export async function scanSpooledObject(
  path: string,
  onItem?: (text: string, index: number) => void,
  chunkBytes = 256 * 1024,
): Promise<SpooledEnvelope> {
  const decoder = new StringDecoder('utf8');
  const envelope: string[] = [];
  let envelopeLength = 0;
  let depth = 0;
  let inString = false;
  let escaped = false;
  /** The last string read at depth 1 (a member name, when a ':' follows). */
  let lastString = '';
  let stringStart = -1;
  let stringAtDepth1 = '';
  let list: SpooledEnvelope['list'];
  /** Inside the list (depth 2 is an item's top). */
  let inList = false;
  let listDone = false;
  let item: string[] = [];
  let itemIndex = 0;
  const keep = (text: string) => {
    envelope.push(text);
    envelopeLength += text.length;
  };
  const endItem = () => {
    const text = item.join('').trim();
    item = [];
    if (text.length > 0) onItem?.(text, itemIndex++);
  };

  const scan = (chunk: string) => {
    let from = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === '\\') escaped = true;
        else if (c === '"') {
          inString = false;
          if (depth === 1 && !inList) lastString = stringAtDepth1 + chunk.slice(stringStart, i);
        }
        continue;
      }
      if (c === '"') {
        inString = true;
        stringStart = i + 1;
        stringAtDepth1 = '';
        continue;
      }
      if (c === '{' || c === '[') {
        depth++;
        if (c === '[' && depth === 2 && list === undefined && !listDone) {
          // The first top-level list: its items go to onItem, the envelope keeps `[]`.
          keep(chunk.slice(from, i + 1));
          list = { key: lastString, at: envelopeLength - 1 };
          inList = true;
          from = i + 1;
        }
        continue;
      }
      if (c === '}' || c === ']') {
        if (inList && depth === 2) {
          item.push(chunk.slice(from, i));
          endItem();
          inList = false;
          listDone = true;
          from = i;
        }
        depth--;
        continue;
      }
      if (c === ',' && inList && depth === 2) {
        item.push(chunk.slice(from, i));
        endItem();
        from = i + 1;
      }
    }
    // Carry what is pending to the next chunk.
    if (inString && depth === 1 && !inList) stringAtDepth1 += chunk.slice(stringStart);
    stringStart = 0;
    if (inList) item.push(chunk.slice(from));
    else keep(chunk.slice(from));
  };

  for await (const bytes of createReadStream(path, { highWaterMark: chunkBytes })) scan(decoder.write(bytes as Buffer));
  scan(decoder.end());
  if (depth !== 0 || inString || inList) throw new Error('the spooled body is not one complete JSON object');
  return { text: envelope.join(''), list };
}
