import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Command } from 'commander';
import { AuditRepository, AuditService } from '@app/audit';
import { ConsoleAuthService, parseRoles, totpCode, UsersService } from '@app/auth';
import { Clock, systemClock } from '@app/clock';
import { type AppConfig, loadConfig } from '@app/config';
import { migrateAs, resolveDatabase } from '@app/db';
import { type KlearCredentials } from '@app/klear-client';
import { Keyring } from '@app/secrets';
import { CliModule } from './cli.module';
import { CliRepository } from './cli.repository';
import { generateMigration } from './migration-generator';
import { RetentionService } from '@app/retention';

/**
 * The command-line entry for administrators and scripts. It reads the same configuration as the
 * API (DATABASE_URL included). Commands that create a token print it alone on the last line.
 */
async function withContext<T>(
  fn: (ctx: {
    users: UsersService;
    audit: AuditService;
    db: CliRepository;
    app: { get: <S>(type: new (...args: never[]) => S) => S };
  }) => Promise<T>,
): Promise<T> {
  const config = loadConfig();
  const db = await resolveDatabase(config);
  const resolved: AppConfig = { ...config, database: { ...config.database, url: db.url } };
  const app = await NestFactory.createApplicationContext(CliModule.forRoot(resolved), { logger: false });
  try {
    return await fn({ users: app.get(UsersService), audit: app.get(AuditService), db: app.get(CliRepository), app });
  } finally {
    await app.close();
    await db.stop();
  }
}

const program = new Command('klear-cli').description('Klear SCM back office: administration').showHelpAfterError();

program
  .command('admins:bootstrap')
  .description('create the first two admins (each gets a one-time invitation, printed one per line); refused once two active admins exist')
  .requiredOption('--names <names>', 'comma-separated user names (two on a fresh installation; one to replace a missing second admin)')
  .action(async (opts: { names: string }) => {
    const names = [
      ...new Set(
        opts.names
          .split(',')
          .map((n) => n.trim())
          .filter(Boolean),
      ),
    ];
    await withContext(async ({ users }) => {
      const created = await users.bootstrapAdmins(names);
      for (const { user, invitation } of created) {
        process.stdout.write(
          `admin ${user.name} (${user.id}): invitation expires ${invitation.record.expiresAt.toISOString()}; hand this code to ${user.name} only:\n${invitation.code}\n`,
        );
      }
      process.stdout.write(
        'each admin redeems their code: POST /invitations/redeem {"code": "...", "label": "..."} (answers their own token, shown once)\n',
      );
    });
  });

program
  .command('users:create')
  .description(
    'create a service account (a script: no approver, no admin) and its first API token (printed alone on the last line); people arrive by invitation',
  )
  .requiredOption('--name <name>', 'user name')
  .requiredOption('--roles <roles>', 'comma-separated: viewer, operator')
  .option('--label <label>', 'token label', 'cli')
  .action(async (opts: { name: string; roles: string; label: string }) => {
    const roles = parseRoles(opts.roles);
    await withContext(async ({ users }) => {
      const user = await users.createUser(opts.name, roles, 'cli', 'service');
      const issued = await users.issueToken(user.id, opts.label, 'cli');
      process.stdout.write(`created service account ${user.name} (${user.id}) with roles ${roles.join(',')}\n`);
      process.stdout.write(
        `token ${issued.record.id} (${issued.record.tokenPrefix}...), expires ${issued.record.expiresAt.toISOString()}: shown once, store it now\n`,
      );
      process.stdout.write(`${issued.token}\n`);
    });
  });

program
  .command('tokens:create')
  .description('issue another API token for a service account (printed alone on the last line); people make their own (POST /me/tokens)')
  .requiredOption('--name <name>', 'user name')
  .option('--label <label>', 'token label', 'cli')
  .action(async (opts: { name: string; label: string }) => {
    await withContext(async ({ users }) => {
      const user = await users.findUserByName(opts.name);
      if (!user) throw new Error(`no active user named ${opts.name}`);
      if (user.kind !== 'service')
        throw new Error(`${opts.name} is a person: nobody makes a token for another person (they use POST /me/tokens)`);
      const issued = await users.issueToken(user.id, opts.label, 'cli');
      process.stdout.write(`token ${issued.record.id} for ${user.name}: shown once, store it now\n${issued.token}\n`);
    });
  });

/** The whole of standard input (a password piped in: never an argument, which `ps` would show). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

program
  .command('console:credentials')
  .description(
    "set a person's console password (read from standard input) and enrol a new TOTP secret (printed once: add it to an authenticator app)",
  )
  .requiredOption('--name <name>', 'user name')
  .action(async (opts: { name: string }) => {
    const password = await readStdin();
    await withContext(async ({ users, app }) => {
      const user = await users.findUserByName(opts.name);
      if (!user) throw new Error(`no active user named ${opts.name}`);
      const enrolled = await app.get(ConsoleAuthService).setCredentials(user.id, password, 'cli');
      process.stdout.write(
        `console credentials set for ${user.name}; open sessions ended.\nTOTP secret (shown once): ${enrolled.secret}\n${enrolled.uri}\n`,
      );
    });
  });

program
  .command('totp:code')
  .description('print the current TOTP code of a person (demo and development: it reads the stored secret; an operator never needs it)')
  .requiredOption('--user <name>', 'user name')
  .action(async (opts: { user: string }) => {
    await withContext(async ({ users, app }) => {
      // Sealed at rest: opening it needs the SECRETS_KEY it was sealed with.
      const user = await users.findUserByName(opts.user);
      const secret = user ? await app.get(ConsoleAuthService).totpSecretOf(user.id) : null;
      if (!secret) throw new Error(`${opts.user} has no console credentials (console:credentials)`);
      process.stdout.write(`${totpCode(secret, systemClock.nowMs())}\n`);
    });
  });

program
  .command('tokens:revoke')
  .description('revoke an API token by id')
  .requiredOption('--id <id>', 'token id')
  .action(async (opts: { id: string }) => {
    await withContext(async ({ users }) => {
      const t = await users.revokeToken(opts.id, 'cli');
      process.stdout.write(`revoked token ${t.id} at ${t.revokedAt?.toISOString()}\n`);
    });
  });

program
  .command('audit:verify')
  .description('verify the audit log: hash chain, and the keyed MAC of every row when SECRETS_KEY is set; exit 1 when broken')
  .option('--anchor <seq:hash>', 'an anchor printed by an earlier verification: that row must still be in the chain, unchanged')
  .addHelpText(
    'after',
    '\nThe JSON answer ends with `anchor` (last seq, hash, MAC): keep it outside the database (a ticket, the ops log) and pass it back with --anchor.',
  )
  .action(async (opts: { anchor?: string }) => {
    let anchor: { seq: string; hash: string } | undefined;
    if (opts.anchor) {
      const m = /^(\d{1,18}):([0-9a-f]{64})$/.exec(opts.anchor);
      if (!m) throw new Error('--anchor expects <seq>:<64 hex characters of hash>');
      anchor = { seq: m[1], hash: m[2] };
    }
    await withContext(async ({ audit }) => {
      const result = await audit.verify({ anchor });
      process.stdout.write(`${JSON.stringify(result)}\n`);
      if (!result.macs.checked)
        process.stderr.write("warning: SECRETS_KEY is not set: the rows' MACs were not checked (hash chain only)\n");
      if (!result.ok) process.exitCode = 1;
    });
  });

program
  .command('secrets:rotate')
  .description('re-seal every stored secret with the current SECRETS_KEY (run after moving the old key to SECRETS_KEY_PREVIOUS); audited')
  .action(async () => {
    const config = loadConfig();
    const keyring = Keyring.fromConfig(config);
    if (!keyring) throw new Error('SECRETS_KEY is required');
    await withContext(async ({ audit, db, app }) => {
      const resealed = await db.storedSecrets(keyring.secretBox()).resealWithCurrentKey();
      // TOTP secrets: also re-sealed at every start of the API; here at once.
      const totp = await app.get(ConsoleAuthService).sealStoredTotpSecrets();
      await audit.record({
        actor: 'cli',
        action: 'secrets.rotate',
        entityType: 'keyring',
        entityId: keyring.currentKeyId,
        details: { resealed, totp_resealed: totp, key_ids: keyring.keyIds },
      });
      const stillNeeded = await app.get(AuditRepository).macKeyIdsOtherThan(keyring.currentKeyId);
      process.stdout.write(`re-sealed ${resealed} stored secret(s) and ${totp} TOTP secret(s) with key ${keyring.currentKeyId}\n`);
      process.stdout.write(
        stillNeeded.length
          ? `audit rows are signed with older key(s) ${stillNeeded.join(', ')}: keep them in SECRETS_KEY_PREVIOUS to verify those MACs; when removing one, list its id in SECRETS_KEY_RETIRED_IDS (an unlisted unknown id fails audit:verify as a forgery)\n`
          : 'no stored secret or audit MAC needs an older key: SECRETS_KEY_PREVIOUS may be emptied\n',
      );
    });
  });

program
  .command('retention:run')
  .description(
    'move the months whose every cycle is older than N days out of the hot tables: detach into the archive schema, export (gzip COPY + SHA-256 manifest), audited; months an open break, an unresolved withdrawal or the buffer balance needs are refused with the reason',
  )
  .option('--older-than-days <n>', 'the configured age (default: RETENTION_OLDER_THAN_DAYS)', process.env.RETENTION_OLDER_THAN_DAYS)
  .option(
    '--out <dir>',
    'export directory, one folder per month (default: RETENTION_ARCHIVE_DIR or ./retention-archive)',
    process.env.RETENTION_ARCHIVE_DIR ?? './retention-archive',
  )
  .option('--dry-run', 'say what would move and what is refused; change nothing', false)
  .option(
    '--drop-after-export',
    'drop the archived tables once their export is verified (default: keep them readable in the archive schema)',
    false,
  )
  .action(async (opts: { olderThanDays?: string; out: string; dryRun: boolean; dropAfterExport: boolean }) => {
    if (!opts.olderThanDays || !/^\d+$/.test(opts.olderThanDays))
      throw new Error('--older-than-days <n> (or RETENTION_OLDER_THAN_DAYS) is required: a whole number of days');
    await withContext(async ({ audit, db, app }) => {
      const outcome = await new RetentionService(db.retention(), audit, app.get(Clock as unknown as new () => Clock)).run({
        olderThanDays: Number(opts.olderThanDays),
        dryRun: opts.dryRun,
        outDir: opts.out,
        dropAfterExport: opts.dropAfterExport,
        actor: 'cli',
      });
      process.stdout.write(`${JSON.stringify(outcome, null, 2)}\n`);
    });
  });

program
  .command('retention:restore')
  .description('put a month still held in the archive schema back into the hot tables (audited)')
  .requiredOption('--month <YYYY-MM>', 'the month')
  .action(async (opts: { month: string }) => {
    if (!/^\d{4}-\d{2}$/.test(opts.month)) throw new Error('--month expects YYYY-MM');
    await withContext(async ({ audit, db, app }) => {
      const n = await new RetentionService(db.retention(), audit, app.get(Clock as unknown as new () => Clock)).restore(opts.month, 'cli');
      process.stdout.write(`restored ${n} partition(s) of ${opts.month}\n`);
    });
  });

program
  .command('partitions:check')
  .description('rows in the safety-net default partitions (none in a healthy database; exit 1 otherwise) and the months held')
  .action(async () => {
    await withContext(async ({ audit, db, app }) => {
      const strays = (await db.defaultPartitionRows()).filter((r) => r.rows > 0);
      const months = await new RetentionService(db.retention(), audit, app.get(Clock as unknown as new () => Clock)).heldMonths();
      process.stdout.write(`${JSON.stringify({ months, default_partition_rows: strays })}\n`);
      if (strays.length > 0) {
        process.stderr.write('rows landed in a default partition: run partitions:ensure for their month (it moves them)\n');
        process.exitCode = 1;
      }
    });
  });

program
  .command('partitions:ensure')
  .description('create the partitions of a month (default: this month and the next), moving any of its rows out of the default partitions')
  .option('--month <YYYY-MM>', 'the month')
  .action(async (opts: { month?: string }) => {
    await withContext(async ({ db, app }) => {
      if (opts.month) {
        if (!/^\d{4}-\d{2}$/.test(opts.month)) throw new Error('--month expects YYYY-MM');
        await db.ensureMonth(opts.month);
      } else {
        await db.ensureAhead(app.get(Clock as unknown as new () => Clock).now());
      }
      process.stdout.write('partitions ensured\n');
    });
  });

program
  .command('recon:verify-summaries')
  .description(
    'check the per-subtrader summaries reconciliation reads, and the latest figures GET /subtraders reads, against the source rows; exit 1 on a difference',
  )
  .action(async () => {
    await withContext(async ({ audit, db }) => {
      const differences = await db.reconciliationSummaries(audit).verify();
      for (const d of differences) process.stdout.write(`${JSON.stringify(d)}\n`);
      process.stdout.write(
        differences.length === 0
          ? 'summaries agree with the source rows\n'
          : `${differences.length} summary rows differ: run recon:rebuild-summaries\n`,
      );
      if (differences.length > 0) process.exitCode = 1;
    });
  });

program
  .command('recon:rebuild-summaries')
  .description(
    'recompute the per-subtrader summaries and the latest figures from the source rows (audited; holds off ledger and Klear writers meanwhile)',
  )
  .action(async () => {
    await withContext(async ({ audit, db }) => {
      const outcome = await db.reconciliationSummaries(audit).rebuild('cli');
      process.stdout.write(`${JSON.stringify(outcome)}\n`);
    });
  });

program
  .command('klear:credentials:set')
  .description('store Klear credentials encrypted (AES-256-GCM, SECRETS_KEY) from a JSON object on stdin')
  .addHelpText(
    'after',
    '\nstdin: {"mode":"bearer","adminUserId":"...","accessToken":"..."} or {"mode":"session","email":"...","password":"...","mfaCode":"..."}\n(secrets are read from stdin, never from arguments, so they stay out of shell history and ps)',
  )
  .action(async () => {
    const config = loadConfig();
    if (!config.secretsKey) throw new Error('SECRETS_KEY is required to store secrets');
    const input = await new Promise<string>((resolveInput) => {
      let text = '';
      process.stdin.setEncoding('utf8');
      process.stdin.on('data', (chunk) => (text += chunk));
      process.stdin.on('end', () => resolveInput(text));
    });
    let credentials: KlearCredentials;
    try {
      credentials = JSON.parse(input) as KlearCredentials;
    } catch {
      throw new Error('stdin is not a JSON object');
    }
    const keyring = Keyring.fromConfig(config)!;
    await withContext(async ({ audit, db }) => {
      const repository = db.klearCredentials(keyring.secretBox(), audit);
      await repository.save(credentials, 'cli');
      process.stdout.write(`stored Klear ${credentials.mode} credentials (encrypted)\n`);
    });
  });

program
  .command('db:migrate')
  .description(
    "apply pending migrations (under the advisory lock) as DATABASE_MIGRATION_URL (else DATABASE_URL), then grant DATABASE_URL's role its rights",
  )
  .action(async () => {
    const config = loadConfig();
    const db = await resolveDatabase(config);
    try {
      const applied = await migrateAs(config.database.migrationUrl ?? db.url, db.url);
      process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'schema up to date\n');
    } finally {
      await db.stop();
    }
  });

program
  .command('db:migration:generate')
  .description('write a migration for the difference between the entities and the migrations (developers)')
  .argument('<Name>', 'PascalCase name')
  .option('--dir <dir>', 'migrations directory', 'migrations')
  .action(async (name: string, opts: { dir: string }) => {
    const config = loadConfig();
    const db = await resolveDatabase(config);
    try {
      const file = await generateMigration(db.url, name, opts.dir);
      process.stdout.write(file ? `wrote ${opts.dir}/${file}.ts\n` : 'no schema changes: nothing to generate\n');
    } finally {
      await db.stop();
    }
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
