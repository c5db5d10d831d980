export { MoneyError, MoneyParseError } from './money-error';
export type { MoneyErrorCode, MoneyParseErrorCode } from './money-error';
export {
  CENTICENTS_PER_USD,
  INT64_MAX,
  INT64_MIN,
  assertCenticents,
  centicentsToDecimalString,
  isInt64,
  parseCenticents,
  sumCenticents,
} from './centicents';
export { parseUsd } from './usd-parse';
export type { ParseUsdOptions } from './usd-parse';
export { formatKlearUsd, formatUsd, formatUsdExact, usdDecimalString } from './usd-format';
export type { FormatUsdOptions } from './usd-format';
export { klearCentsFromJsonValue } from './klear-json';
export { bigintColumnTransformer } from './bigint-column';
export { toJsonSafe } from './json-safe';
export type { JsonSafe } from './json-safe';
export { IsCenticentsString, IsUsdAmount } from './money-validators';
export type { IsUsdAmountOptions } from './money-validators';
export { moneyFields } from './money-fields';
export type { MoneyFields } from './money-fields';
