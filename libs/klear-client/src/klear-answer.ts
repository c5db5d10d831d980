import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { ENDPOINTS, type KlearEndpointName, parseKlearJson, responseSchemaOf, unmappedFields } from '@app/klear-contract';
import { KlearSchemaError, type SchemaIssue } from './klear-errors';
import type { SpooledBody } from './spooled-body';

/** The answer as it came, for the archive, before interpretation. */
export interface KlearRawAnswer<Body = string> {
  body: Body;
  status: number;
  /** `GET /margin/obligation_history` (a report download: its path, never its signed query). */
  endpoint: string;
  /** Query parameters, or the JSON body's fields for a POST. */
  params: Record<string, string>;
  receivedAt: Date;
  /** SHA-256 (hex) of the body bytes. */
  sha256: string;
  /**
   * A body larger than the client's buffer cap (KLEAR_MAX_BUFFER_BYTES) is spooled here instead
   * (`body` is then empty): the archive streams it from there. Whoever reads the answer closes it
   * (the archive does once it has it); a dropped one is closed when garbage-collected.
   */
  spooledBody?: SpooledBody;
  /** The body's size in bytes (spooled or not). */
  size?: number;
}

export interface KlearResponse<Data, Body = string> {
  data: Data;
  raw: KlearRawAnswer<Body>;
  /**
   * Fields the contract does not name (Klear added them), as generalised paths such as
   * `obligations[].new_field`: never a failure; kept in the raw body, reported on the job run.
   */
  unmapped?: string[];
  /**
   * A spooled body (`raw.spooledBody`): for each list item with fields the contract does not name, the
   * item alone in its envelope (what reading those fields' values needs, without the whole body).
   */
  itemBodies?: Map<number, string>;
}

export type KlearAnswerData<N extends KlearEndpointName> = z.output<(typeof ENDPOINTS)[N]['responseSchema']>;

/** Closes the spooled body a contract error keeps for its catcher (`KlearSchemaError.rawSpooledBody`); other errors: nothing. */
export async function closeRejectedBody(error: unknown): Promise<void> {
  if (error instanceof KlearSchemaError) await error.rawSpooledBody?.close();
}

/** A read whose caller archives the answer itself: a contract error's spooled body is closed (not archived). */
export async function closedIfRejected<R>(read: Promise<R>): Promise<R> {
  try {
    return await read;
  } catch (error) {
    await closeRejectedBody(error);
    throw error;
  }
}

/** A read whose answer is not archived: its spooled body (if any) is closed once parsed, or on a contract error. */
export async function released<R extends { raw: KlearRawAnswer }>(read: Promise<R>): Promise<R> {
  const answer = await closedIfRejected(read);
  await answer.raw.spooledBody?.close();
  return answer;
}

export function sha256Hex(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Interprets a body of endpoint `name` against the contract: lossless JSON (integers become bigint),
 * then the endpoint's schema. Used on live answers and to re-parse archived ones.
 * Throws KlearSchemaError (endpoint named, raw body kept) on malformed JSON or a contract mismatch.
 */
export function parseKlearAnswer<N extends KlearEndpointName>(name: N, body: string, status = 200): KlearAnswerData<N> {
  return parseKlearAnswerWithUnmapped(name, body, status).data;
}

/** The contract error of a body that is not JSON (held in memory, or spooled: `body` is then empty). */
export function notJsonError(endpoint: string, status: number, cause: unknown, body: string): KlearSchemaError {
  return new KlearSchemaError(endpoint, status, [{ path: '', message: `not JSON (${(cause as Error).message.slice(0, 80)})` }], body);
}

/** parseKlearAnswer, plus the fields of the body the contract does not name. */
export function parseKlearAnswerWithUnmapped<N extends KlearEndpointName>(
  name: N,
  body: string,
  status = 200,
): { data: KlearAnswerData<N>; unmapped: string[] } {
  const endpoint = `${ENDPOINTS[name].method} ${ENDPOINTS[name].path}`;
  let json: unknown;
  try {
    json = parseKlearJson(body);
  } catch (error) {
    throw notJsonError(endpoint, status, error, body);
  }
  const parsed = (ENDPOINTS[name].responseSchema as z.ZodType).safeParse(json);
  if (!parsed.success) {
    const issues: SchemaIssue[] = parsed.error.issues.map((issue) => ({
      path: issue.path
        .map((part) => (typeof part === 'number' ? `[${part}]` : String(part)))
        .join('.')
        .replace(/\.\[/g, '['),
      message: issue.message,
    }));
    throw new KlearSchemaError(endpoint, status, issues, body);
  }
  const schema = responseSchemaOf(ENDPOINTS[name].method, ENDPOINTS[name].path, 200);
  const unmapped = schema === undefined ? [] : [...unmappedFields(schema, json)].sort();
  return { data: parsed.data as KlearAnswerData<N>, unmapped };
}
