export { SecretBox, SecretBoxError, secretKeyId } from './secret-box';
export type { SecretBoxErrorCode, SecretKey } from './secret-box';
export { StoredSecretRepository } from './stored-secret.repository';
export { Keyring } from './keyring';
export type { MacCheck } from './keyring';
