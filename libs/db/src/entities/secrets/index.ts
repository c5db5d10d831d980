import { StoredSecret } from './stored-secret.entity';

export * from './stored-secret.entity';

export const SECRETS_ENTITIES = [StoredSecret];
