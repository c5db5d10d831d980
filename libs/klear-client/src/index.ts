export { DEFAULT_REPORT_MAX_BYTES, DETAIL_LIST_ENDPOINTS, KlearClient } from './klear-client';
export type { KlearBodySink } from './klear-transport';
export { SpooledBody } from './spooled-body';
export type { DownloadedReport, PageRequest, WithdrawalWithCenticents } from './klear-client';
export { closeRejectedBody, closedIfRejected, parseKlearAnswer, parseKlearAnswerWithUnmapped, released, sha256Hex } from './klear-answer';
export type { KlearAnswerData, KlearRawAnswer, KlearResponse } from './klear-answer';
export type { KlearCall, KlearClientLogger, KlearClientOptions, SendGuard } from './klear-http-pipeline';
export type { KlearCredentials, KlearCredentialsSource } from './klear-credentials';
export { KLEAR_CREDENTIALS_SECRET, KlearCredentialsRepository } from './klear-credentials.repository';
export type { AuditRecorder } from './klear-credentials.repository';
export { KlearClientModule, createKlearClient, klearCredentialsFromConfig } from './klear-client.module';
/** Every error the client throws, its reasons, and how to classify one (retryable, outage). */
export * from './klear-errors';
export { KlearRateLimiter } from './klear-rate-limiter';
export type { KlearRateLimiterOptions } from './klear-rate-limiter';
export { RateLimitWaitExceeded, TokenBucket, systemClock } from './token-bucket';
export type { LimiterClock, TakeOptions } from './token-bucket';
export { parseRetryAfterMs } from './retry-after';
export * from './klear-request-observers';
