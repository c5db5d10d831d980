import { ValidateBy, buildMessage, type ValidationOptions } from 'class-validator';
import { parseCenticents } from './centicents';
import { MoneyParseError } from './money-error';
import { parseUsd } from './usd-parse';

/** Runs a parser and returns its complaint for a person, or null when the value is valid. */
function complaint(parse: () => unknown): string | null {
  try {
    parse();
    return null;
  } catch (error) {
    if (error instanceof MoneyParseError) return error.message;
    throw error;
  }
}

export interface IsUsdAmountOptions {
  maxDecimals?: 2 | 4;
}

/**
 * A positive USD amount as a strict decimal string ("250000.00"), the `amount` of withdrawal
 * requests. The message says exactly what is wrong (too many decimals, a number, "1,000", ...).
 */
export function IsUsdAmount(options: IsUsdAmountOptions = {}, validationOptions?: ValidationOptions): PropertyDecorator {
  const parseOptions = { maxDecimals: options.maxDecimals ?? 2, requirePositive: true } as const;
  return ValidateBy(
    {
      name: 'isUsdAmount',
      constraints: [parseOptions.maxDecimals],
      validator: {
        validate: (value: unknown) => complaint(() => parseUsd(value, parseOptions)) === null,
        defaultMessage: buildMessage(
          (eachPrefix, args) => `${eachPrefix}${args?.property}: ${complaint(() => parseUsd(args?.value, parseOptions))}`,
          validationOptions,
        ),
      },
    },
    validationOptions,
  );
}

/** Centicents as a decimal integer string within int64 ("-125000000"), as our API carries them. */
export function IsCenticentsString(validationOptions?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isCenticentsString',
      validator: {
        validate: (value: unknown) => complaint(() => parseCenticents(value)) === null,
        defaultMessage: buildMessage(
          (eachPrefix, args) => `${eachPrefix}${args?.property}: ${complaint(() => parseCenticents(args?.value))}`,
          validationOptions,
        ),
      },
    },
    validationOptions,
  );
}
