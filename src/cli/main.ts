// Decorator metadata must be in place before any service module below is imported.
import 'reflect-metadata';
import type { INestApplicationContext, LoggerService } from '@nestjs/common';
import { firstLine } from '../common/first-line.js';
import { loginMessage } from '../common/login-message.js';
import type { UserRef } from '../users/user.types.js';
import { CliUsageError, parseCommandArgs, required } from './cli-args.js';
import { generateKeyPair, signLoginMessage } from './client-keys.js';

const USAGE = `usage: sigauth <command>   (or: npm run cli -- <command>)
  keys generate
  sign --email E --private-key HEX [--nonce N]
  users add --email E --account A [--role R] [--public-key HEX]... [--wallet 0x...]... [--contract-wallet 0x...]... [--password-stdin] [--password-expires-at ISO]
  users list [--limit N] [--after ID]
  users disable --email E | --id ID
  users enable --email E | --id ID
  users set-password --email E --password-stdin [--password-expires-at ISO]
  keys add --email E --public-key HEX
  keys revoke --email E --public-key HEX
  signing-keys rotate
  signing-keys revoke --kid K
  db migrate
  db seed [--file F]
  chain status`;

/** Nest's own messages go to stderr, so stdout carries only the command's JSON. */
const stderrLogger: LoggerService = {
  log: () => undefined,
  warn: (message: unknown) => process.stderr.write(`warn: ${String(message)}\n`),
  error: (message: unknown) => process.stderr.write(`error: ${String(message)}\n`),
};

type Handler = (args: string[], context: () => Promise<INestApplicationContext>) => Promise<unknown>;

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new CliUsageError('--password-stdin expects the password on standard input');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

const commands: Record<string, Handler> = {
  'keys generate': async (args) => {
    parseCommandArgs(args, {});
    return generateKeyPair();
  },
  sign: async (args) => {
    const v = parseCommandArgs(args, { email: { type: 'string' }, 'private-key': { type: 'string' }, nonce: { type: 'string' } });
    const message = loginMessage(required(v, 'email'), v.nonce);
    return { signature: signLoginMessage(required(v, 'private-key'), message) };
  },
  'users add': async (args, context) => {
    const v = parseCommandArgs(args, {
      email: { type: 'string' },
      account: { type: 'string' },
      role: { type: 'string' },
      'public-key': { type: 'string', multiple: true },
      wallet: { type: 'string', multiple: true },
      'contract-wallet': { type: 'string', multiple: true },
      'password-stdin': { type: 'boolean' },
      'password-expires-at': { type: 'string' },
    });
    const input = {
      email: required(v, 'email'),
      account: required(v, 'account'),
      role: v.role,
      publicKeys: v['public-key'] ?? [],
      wallets: v.wallet ?? [],
      contractWallets: v['contract-wallet'] ?? [],
      password: v['password-stdin'] ? await readStdin() : null,
      passwordExpiresAt: v['password-expires-at'] ?? null,
    };
    const { AccountsService } = await import('../accounts/accounts.service.js');
    return (await context()).get(AccountsService).createUser(input, 'cli');
  },
  'users list': async (args, context) => {
    const v = parseCommandArgs(args, { limit: { type: 'string' }, after: { type: 'string' } });
    const limit = v.limit === undefined ? 100 : Number(v.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10000) throw new CliUsageError('--limit must be an integer from 1 to 10000');
    if (v.after !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v.after)) {
      throw new CliUsageError('--after must be a user id (as users list prints it)');
    }
    const { UsersService } = await import('../users/users.service.js');
    return (await context()).get(UsersService).list(limit, v.after);
  },
  'users disable': async (args, context) => {
    const v = parseCommandArgs(args, { email: { type: 'string' }, id: { type: 'string' } });
    const { AccountsService } = await import('../accounts/accounts.service.js');
    return (await context()).get(AccountsService).disableUser(userRef(v), 'cli');
  },
  'users enable': async (args, context) => {
    const v = parseCommandArgs(args, { email: { type: 'string' }, id: { type: 'string' } });
    const { AccountsService } = await import('../accounts/accounts.service.js');
    return (await context()).get(AccountsService).enableUser(userRef(v), 'cli');
  },
  'users set-password': async (args, context) => {
    const v = parseCommandArgs(args, { email: { type: 'string' }, 'password-stdin': { type: 'boolean' }, 'password-expires-at': { type: 'string' } });
    if (!v['password-stdin']) throw new CliUsageError('--password-stdin is required: the password is read from standard input, never from the command line');
    const email = required(v, 'email');
    const password = await readStdin();
    const { AccountsService } = await import('../accounts/accounts.service.js');
    return (await context()).get(AccountsService).setPassword(email, password, v['password-expires-at'] ?? null, 'cli');
  },
  'keys add': async (args, context) => {
    const v = parseCommandArgs(args, { email: { type: 'string' }, 'public-key': { type: 'string' } });
    const { AccountsService } = await import('../accounts/accounts.service.js');
    return (await context()).get(AccountsService).addPublicKey(required(v, 'email'), required(v, 'public-key'), 'cli');
  },
  'keys revoke': async (args, context) => {
    const v = parseCommandArgs(args, { email: { type: 'string' }, 'public-key': { type: 'string' } });
    const { AccountsService } = await import('../accounts/accounts.service.js');
    return (await context()).get(AccountsService).revokePublicKey(required(v, 'email'), required(v, 'public-key'), 'cli');
  },
  'signing-keys rotate': async (args, context) => {
    parseCommandArgs(args, {});
    const { SigningKeysService } = await import('../tokens/signing-keys.service.js');
    return (await context()).get(SigningKeysService).rotate();
  },
  'signing-keys revoke': async (args, context) => {
    const v = parseCommandArgs(args, { kid: { type: 'string' } });
    const { SigningKeysService } = await import('../tokens/signing-keys.service.js');
    return (await context()).get(SigningKeysService).revoke(required(v, 'kid'));
  },
  'db migrate': async (args, context) => {
    parseCommandArgs(args, {});
    const { MigrationRunner } = await import('../database/migration-runner.js');
    const applied = await (await context()).get(MigrationRunner).migrate();
    return { applied };
  },
  'chain status': async (args, context) => {
    parseCommandArgs(args, {});
    const { ChainStatusService } = await import('../chain/chain-status.service.js');
    return (await context()).get(ChainStatusService).status();
  },
  'db seed': async (args, context) => {
    const v = parseCommandArgs(args, { file: { type: 'string' } });
    const started = Date.now();
    const [{ readSeedFile }, { AccountsService }] = await Promise.all([import('../users/seed-file.js'), import('../accounts/accounts.service.js')]);
    const users = await readSeedFile(v.file ?? 'prisma/seed.example.json');
    const result = await (await context()).get(AccountsService).seed(users);
    return { ...result, ms: Date.now() - started };
  },
};

/** `--email E` or `--id ID`: a user the Factory registered has no email. */
function userRef(v: { email?: string; id?: string }): UserRef {
  if ((v.email === undefined) === (v.id === undefined)) throw new CliUsageError('give either --email or --id');
  return v.id !== undefined ? { id: v.id } : v.email!;
}

export async function runCli(argv: string[]): Promise<number> {
  if (argv.length === 1 && ['--help', '-h', 'help'].includes(argv[0]!)) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const name = [argv.slice(0, 2).join(' '), argv[0] ?? ''].find((n) => n in commands);
  if (!name) {
    process.stderr.write(`${argv.length ? `unknown command: ${argv.join(' ')}\n` : ''}${USAGE}\n`);
    return 2;
  }
  let app: INestApplicationContext | undefined;
  const context = async (): Promise<INestApplicationContext> => {
    // Loaded only by the commands that need the services: keys generate and sign start in milliseconds.
    const [{ NestFactory }, { CliModule }, { loadConfig }] = await Promise.all([import('@nestjs/core'), import('./cli.module.js'), import('../config/app-config.js')]);
    // db migrate applies migrations itself; every other command migrates as the server would.
    const config = loadConfig();
    if (!config.DATABASE_URL) {
      // Checked before Nest starts: its exception handler would put the class name before the one line that says how to fix it.
      const { checkDataDir } = await import('../database/data-dir-permissions.js');
      checkDataDir(config.DATA_DIR);
    }
    if (name === 'db migrate') config.MIGRATE_ON_START = false;
    app = await NestFactory.createApplicationContext(CliModule.forRoot(config), { logger: stderrLogger });
    return app;
  };
  try {
    const result = await commands[name]!(argv.slice(name.split(' ').length), context);
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return 0;
  } catch (error) {
    process.stderr.write(`error: ${firstLine(error)}\n`);
    return 1;
  } finally {
    await app?.close();
  }
}

process.exitCode = await runCli(process.argv.slice(2));
