// For the money specs only (not exported from the library's index).
import { MoneyError } from './money-error';

/**
 * The code of the `kind` of money error (MoneyError unless told) that `run` throws, or `none` when it
 * returns. Any other error is rethrown, so it fails the test.
 */
export function errorCode(run: () => unknown, kind: abstract new (...args: never[]) => MoneyError = MoneyError, none = 'no error'): string {
  try {
    run();
    return none;
  } catch (error) {
    if (error instanceof kind) return error.code;
    throw error;
  }
}
