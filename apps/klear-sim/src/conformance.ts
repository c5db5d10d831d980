import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseKlearJson, validateAnswer } from '@app/klear-contract';

/** Bodies larger than this are not validated (counted as skipped): parsing them losslessly would stall the in-process tests. */
const MAX_VALIDATED_BYTES = 1024 * 1024;

/**
 * Validates every answer the simulator gives against the OpenAPI document when
 * KLEAR_SIM_CONFORMANCE_DIR is set (the test suite's global setup sets it): a violation is written
 * to that directory and fails the run at global teardown. Counts are written when the simulator closes.
 */
export class ConformanceRecorder {
  private checked = 0;
  private skipped = 0;
  private readonly violationsFile: string;
  /** Bodies already validated (by method, path template and SHA-256): the same answer is not parsed twice. */
  private readonly seen = new Set<string>();

  private constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.violationsFile = join(dir, `violations-${process.pid}.jsonl`);
  }

  static fromEnvironment(): ConformanceRecorder | undefined {
    const dir = process.env.KLEAR_SIM_CONFORMANCE_DIR;
    return dir ? new ConformanceRecorder(dir) : undefined;
  }

  /** Wraps a body so that its chunks are kept (within the cap) while they are sent. */
  tee(body: string | Iterable<string>): { body: string | Iterable<string>; text: () => string | undefined } {
    if (typeof body === 'string') return { body, text: () => body };
    const chunks: string[] = [];
    let size = 0;
    let over = false;
    const wrapped = (function* () {
      for (const chunk of body) {
        if (!over) {
          size += chunk.length;
          if (size > MAX_VALIDATED_BYTES) {
            over = true;
            chunks.length = 0;
          } else {
            chunks.push(chunk);
          }
        }
        yield chunk;
      }
    })();
    return { body: wrapped, text: () => (over ? undefined : chunks.join('')) };
  }

  check(method: string, path: string, status: number, text: string | undefined): void {
    if (text === undefined) {
      this.skipped++;
      return;
    }
    this.checked++;
    const key = `${method} ${path} ${status} ${createHash('sha256').update(text).digest('hex')}`;
    if (this.seen.has(key)) return;
    if (this.seen.size > 10_000) this.seen.clear();
    this.seen.add(key);
    let violations;
    try {
      violations = validateAnswer(method, path, status, parseKlearJson(text));
    } catch (error) {
      violations = [{ path: '', message: `not JSON: ${(error as Error).message.slice(0, 80)}` }];
    }
    if (violations.length > 0) {
      appendFileSync(
        this.violationsFile,
        `${JSON.stringify({ method, path, status, violations: violations.slice(0, 10), body: text.slice(0, 500) })}\n`,
      );
    }
  }

  flush(): void {
    appendFileSync(join(this.dir, `checked-${process.pid}.log`), `${this.checked} ${this.skipped}\n`);
    this.checked = 0;
    this.skipped = 0;
  }
}
