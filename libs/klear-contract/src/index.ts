export * from './schemas';
export { ENDPOINTS, KLEAR_API_BASE_PATH, RATE_LIMIT_TIERS, endpointPath, findEndpoint } from './endpoints';
export type { KlearEndpoint, KlearEndpointKind, KlearEndpointName, RateLimitTier } from './endpoints';
export { parseKlearJson, stringifyKlearJson } from './json';
export { KLEAR_OPENAPI } from './openapi';
export {
  type ContractViolation,
  componentSchema,
  openApiPathOf,
  responseSchemaOf,
  unmappedFields,
  validateAnswer,
  validateSchema,
} from './openapi-validate';
export { CENTICENTS_PER_USD, USD_AMOUNT_WIRE, UsdAmountError, centicentsToUsdAmount, usdAmountToCenticents } from './usd-amount';
