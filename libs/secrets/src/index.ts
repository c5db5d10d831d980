export { SecretBox, SecretBoxError, secretKeyId } from './secret-box';
export type { SecretBoxErrorCode, SecretKey } from './secret-box';
export { StoredSecretRepository } from './stored-secret.repository';
