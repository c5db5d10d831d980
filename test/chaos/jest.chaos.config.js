// Jest for the randomized chaos runs (test/chaos/run.mjs): the root config, with only *.chaos.ts files.
import { fileURLToPath } from 'node:url';
import base from '../../jest.config.js';

export default {
  ...base,
  rootDir: fileURLToPath(new URL('../..', import.meta.url)),
  testMatch: ['<rootDir>/test/chaos/**/*.chaos.ts'],
  testTimeout: 240_000,
};
