// ESLint: type-checked rules that catch what tsc does not (a promise nobody awaits), and the
// architecture's arrows as import rules, so that a wrong import fails `npm run lint` instead of
// waiting for a review (README, "Architecture", lists each boundary and why).
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** A relative import that climbs into apps/: libraries never depend on an app. */
const INTO_APPS = { regex: '^(\\.\\./)+apps/', message: 'A library never imports from apps/: dependencies point from apps to libraries.' };
/** An app through its alias (`@apps/<app>`, for the demo that starts the others in-process): never from a library. */
const APP_ALIAS = { regex: '^@apps/', message: 'A library never imports an app: dependencies point from apps to libraries.' };

/** TypeORM's query APIs: only repositories (`*.repository.ts`) and the database library use them. */
const TYPEORM_QUERY_APIS = [
  'DataSource',
  'EntityManager',
  'Repository',
  'QueryRunner',
  'SelectQueryBuilder',
  'QueryBuilder',
  'Brackets',
  'In',
  'IsNull',
  'Not',
  'Any',
  'Between',
  'LessThan',
  'LessThanOrEqual',
  'MoreThan',
  'MoreThanOrEqual',
  'Like',
  'ILike',
  'Raw',
  'QueryFailedError',
];

/** Where only repositories may reach TypeORM: its query APIs and the injected DataSource. */
const ONLY_REPOSITORIES_USE_TYPEORM = {
  paths: [
    {
      name: 'typeorm',
      importNames: TYPEORM_QUERY_APIS,
      message: 'Only repositories (*.repository.ts) use TypeORM query APIs: move the query into one.',
    },
    {
      name: '@nestjs/typeorm',
      importNames: ['InjectDataSource', 'InjectRepository', 'InjectEntityManager'],
      message: 'Only repositories (*.repository.ts) are given the DataSource.',
    },
  ],
};

export default defineConfig(
  { ignores: ['dist/**', 'node_modules/**', 'apps/console/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  {
    files: ['apps/**/*.ts', 'libs/**/*.ts', 'test/**/*.ts', 'migrations/**/*.ts'],
    plugins: { '@typescript-eslint': tseslint.plugin },
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A promise nobody awaits loses its error and its ordering (a write after the lock is gone).
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // The rule leaves files with decorators alone: with emitDecoratorMetadata an import used only in
      // a constructor's types is still a runtime value (Nest's injection reads it).
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // Control characters in a pattern are meant (stripping them from text), and say so where they are.
      'no-control-regex': 'error',
    },
  },
  {
    // Libraries: never an app; never the HTTP layer (domain errors carry a kind, the API maps it).
    files: ['libs/**/*.ts'],
    ignores: ['libs/http/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@app/http',
              message: 'Only apps use @app/http. Throw a DomainError of @app/errors (a code and a kind); the API maps kinds to statuses.',
            },
          ],
          patterns: [INTO_APPS, APP_ALIAS],
        },
      ],
    },
  },
  {
    files: ['libs/http/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [INTO_APPS, APP_ALIAS] }] },
  },
  {
    // The simulator speaks the Klear contract, never the back office's domain or database. It also
    // takes @app/clock, the one place allowed to read the machine's clock (test/foundation/one-clock).
    files: ['apps/klear-sim/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^@app/(?!klear-contract$|clock$)',
              message: 'The simulator imports only @app/klear-contract (and the generic @app/clock) among the libraries.',
            },
            { regex: '^(\\.\\./)+(libs|apps)/', message: 'The simulator never reaches into the back office by relative path.' },
            { regex: '^@apps/', message: 'The simulator never imports another app.' },
          ],
        },
      ],
    },
  },
  {
    // Only repositories touch TypeORM (issue 17, items 1 and 2): services get a repository and, for a
    // transaction, the handle a repository gives them (`DbTransaction`, `WithdrawalTx`, `SqlTransaction`).
    // Not checked: the database library itself, module files (wiring: TypeOrmModule, a factory handing
    // the DataSource to a repository), the benchmarks (they time queries and build databases directly,
    // as tests do) and the test kit.
    files: ['apps/**/*.ts', 'libs/**/*.ts'],
    ignores: ['**/*.repository.ts', 'libs/db/**', '**/*.spec.ts', '**/*.module.ts', 'apps/bench/**', 'libs/testing/**'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', ONLY_REPOSITORIES_USE_TYPEORM] },
  },
);
