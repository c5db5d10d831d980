import { randomBytes } from 'node:crypto';
import { Keyring } from '@app/secrets';

/**
 * The key a bench run signs and verifies with, as a deployment does (SECRETS_KEY is required in
 * production): the bench's own audit writers sign with it, and every process it starts (the API, the
 * CLI, the step processes, the console bench's API) gets it, so `GET /audit` checks the MAC of every row
 * it walks (issue 18: without a key that walk skipped the HMAC and the bench under-measured the route).
 * Made for the run and never stored: the run's database is dropped with it.
 */
const BENCH_SECRETS_KEY = randomBytes(32);

/** The environment entry that gives a process of the run its key. */
export const benchSecretsEnv = (): { SECRETS_KEY: string } => ({ SECRETS_KEY: BENCH_SECRETS_KEY.toString('hex') });

/** The keyring of the run's in-process audit writers. */
export const benchKeyring = (): Keyring => new Keyring(BENCH_SECRETS_KEY);
