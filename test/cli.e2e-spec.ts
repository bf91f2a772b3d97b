import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { blake2b } from '@noble/hashes/blake2.js';
import { verify as verifyArgon2 } from '@node-rs/argon2';
import nacl from 'tweetnacl';
import { childEnv, inBatches, jsonOf, runCli, runCliSync, type ProcessResult } from './support/cli.js';
import { withSql } from './support/sql.js';
import { createTestStorage, type TestStorage } from './support/test-app.js';

const HEX64 = /^[0-9a-f]{64}$/;
const VECTORS_DIR = join(process.cwd(), '..', 'shared', 'vectors');
const MIGRATIONS = readdirSync(join(process.cwd(), 'prisma', 'migrations'), { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

// The FIB documentation's key pair (also in ../shared/vectors): a valid key for users that need one.
const FIB_PUBLIC_KEY = '7fbedb314a9b0c00caef967ac5cabb982ec45da828a0c58a9aafc854f32422ac';
const FIB_PRIVATE_KEY = '413b285d1819a6166b0daa762bb6bef2d082cffb9a13ce041cb0fda5e2f06dc3';
const SMALL_ORDER_KEY = '0100000000000000000000000000000000000000000000000000000000000000';
// EIP-55's own example address, and the same address with the case of its last letter flipped.
const CHECKSUMMED_WALLET = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const BAD_CHECKSUM_WALLET = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD';
const CONTRACT_WALLET = '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359';
const PASSWORD = 'correct horse battery staple';

/** The Iroha hash, computed here independently of src/: BLAKE2b-256 with the last byte's low bit set. */
function irohaHash(message: string): Uint8Array {
  const digest = blake2b(new TextEncoder().encode(message), { dkLen: 32 });
  digest[31]! |= 1;
  return digest;
}

/** A failed command: non-zero exit, nothing on stdout, exactly one non-empty `error:` line on stderr. */
function expectCliError(result: ProcessResult, message: RegExp): void {
  expect({ status: result.status === 0 ? 0 : 'non-zero', stdout: result.stdout }).toEqual({ status: 'non-zero', stdout: '' });
  expect(result.stderr).toMatch(/^error: [^\n]*\S[^\n]*\n$/);
  expect(result.stderr).toMatch(message);
}

interface UserJson {
  id: string;
  email: string;
  account: string;
  role: string;
  status: string;
  hasPassword: boolean;
  passwordExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
  publicKeys?: { id: string; publicKeyHex: string; createdAt: string; revokedAt: string | null }[];
  wallets?: { id: string; address: string; kind: string; createdAt: string; revokedAt: string | null }[];
}

describe('CLI (node dist/src/cli/main.js)', () => {
  let storage: TestStorage;
  let env: NodeJS.ProcessEnv;
  const cli = (args: string[], input = ''): ProcessResult => runCliSync(args, env, input);
  // PGlite serves one process at a time: CLI processes on its folder must take turns.
  const concurrency = (): number => (storage.backend === 'pglite' ? 1 : 3);

  /** Every user row with its credentials, straight from the database. */
  const snapshot = (): Promise<unknown> =>
    withSql(storage, async (query) => ({
      users: await query(`SELECT id, email, account, role::text, status::text, password_hash, password_expires_at FROM users ORDER BY email`),
      keys: await query(`SELECT id, user_id, public_key_hex, revoked_at FROM public_keys ORDER BY id`),
      wallets: await query(`SELECT id, user_id, address, revoked_at FROM wallets ORDER BY id`),
    }));

  beforeAll(async () => {
    storage = await createTestStorage('cli');
    env = childEnv(storage.env);
  });
  afterAll(async () => {
    await storage?.cleanup();
  });

  describe('round trip', () => {
    let generated: { privateKeyHex: string; publicKeyHex: string };
    let carol: UserJson;
    let dave: UserJson;

    it('keys generate prints a tweetnacl key pair as JSON', () => {
      const first = cli(['keys', 'generate']);
      generated = jsonOf(first);
      expect(first.stderr).toBe('');
      expect(Object.keys(generated).sort()).toEqual(['privateKeyHex', 'publicKeyHex']);
      expect(generated.privateKeyHex).toMatch(HEX64);
      expect(generated.publicKeyHex).toMatch(HEX64);
      const derived = nacl.sign.keyPair.fromSeed(Buffer.from(generated.privateKeyHex, 'hex')).publicKey;
      expect(Buffer.from(derived).toString('hex')).toBe(generated.publicKeyHex);
    });

    it('sign reproduces the FIB documentation vector', () => {
      if (!existsSync(VECTORS_DIR)) {
        console.warn(`skipped: ${VECTORS_DIR} is absent, so the FIB vector cannot be checked`);
        return;
      }
      const { vectors } = JSON.parse(readFileSync(join(VECTORS_DIR, 'fib-email-signature.json'), 'utf8')) as {
        vectors: { email: string; authPrivateKeyHex: string; signature: string }[];
      };
      expect(vectors.length).toBeGreaterThan(0);
      for (const v of vectors) {
        const result = cli(['sign', '--email', v.email, '--private-key', v.authPrivateKeyHex]);
        expect(jsonOf(result)).toEqual({ signature: v.signature });
        expect(result.stderr).toBe('');
      }
    });

    it('sign makes a signature that tweetnacl verifies over the Iroha hash of the email', () => {
      const email = 'Carol@Example.COM';
      const { signature } = jsonOf<{ signature: string }>(cli(['sign', '--email', email, '--private-key', generated.privateKeyHex]));
      expect(signature).toMatch(/^[0-9a-f]{128}$/);
      const publicKey = Buffer.from(generated.publicKeyHex, 'hex');
      expect(nacl.sign.detached.verify(irohaHash(email), Buffer.from(signature, 'hex'), publicKey)).toBe(true);
      expect(nacl.sign.detached.verify(irohaHash(email.toLowerCase()), Buffer.from(signature, 'hex'), publicKey)).toBe(false);
    });

    it('db migrate applies every migration once, then nothing', async () => {
      expect(jsonOf(cli(['db', 'migrate']))).toEqual({ applied: MIGRATIONS });
      expect(jsonOf(cli(['db', 'migrate']))).toEqual({ applied: [] });
      const rows = await withSql(storage, (q) =>
        q<{ migration_name: string }>(`SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name`),
      );
      expect(rows.map((r) => r.migration_name)).toEqual(MIGRATIONS);
    });

    it('users add creates a user with keys, a wallet and a password read from stdin', async () => {
      const result = cli(
        [
          'users', 'add',
          '--email', '  Carol@Example.COM ',
          '--account', 'carol@services',
          '--role', 'ROLE_SERVICE',
          '--public-key', FIB_PUBLIC_KEY.toUpperCase(),
          '--wallet', CHECKSUMMED_WALLET,
          '--contract-wallet', CONTRACT_WALLET,
          '--password-stdin',
          '--password-expires-at', '2027-06-01T12:00:00Z',
        ],
        `${PASSWORD}\n`,
      );
      carol = jsonOf<UserJson>(result);
      expect(result.stderr).toBe('');
      expect(carol).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        email: 'carol@example.com',
        account: 'carol@services',
        role: 'ROLE_SERVICE',
        status: 'ACTIVE',
        hasPassword: true,
        passwordExpiresAt: '2027-06-01T12:00:00.000Z',
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
        publicKeys: [{ id: expect.any(String), publicKeyHex: FIB_PUBLIC_KEY, createdAt: expect.any(String), revokedAt: null }],
        wallets: expect.arrayContaining([
          { id: expect.any(String), address: CHECKSUMMED_WALLET.toLowerCase(), kind: 'EOA', createdAt: expect.any(String), revokedAt: null },
          { id: expect.any(String), address: CONTRACT_WALLET.toLowerCase(), kind: 'CONTRACT', createdAt: expect.any(String), revokedAt: null },
        ]),
      });
      expect(carol.wallets).toHaveLength(2);
      expect(result.stdout).not.toMatch(/argon2|password_?hash/i);

      // The hash is Argon2id at the cost the environment asked for, over the password without stdin's newline.
      const [row] = await withSql(storage, (q) => q<{ password_hash: string }>(`SELECT password_hash FROM users WHERE id = $1`, [carol.id]));
      expect(row!.password_hash).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
      await expect(verifyArgon2(row!.password_hash, PASSWORD)).resolves.toBe(true);
      await expect(verifyArgon2(row!.password_hash, `${PASSWORD}\n`)).resolves.toBe(false);

      dave = jsonOf<UserJson>(cli(['users', 'add', '--email', 'dave@wonderland', '--account', 'dave@wonderland']));
      expect(dave).toMatchObject({ email: 'dave@wonderland', role: 'ROLE_PEER', hasPassword: false, passwordExpiresAt: null, publicKeys: [], wallets: [] });
    });

    it('users list shows the users in creation order, with credentials and no password hash', async () => {
      const [result, secondPage] = await inBatches([['users', 'list'], ['users', 'list', '--limit', '1', '--after', carol.id]], concurrency(), (args) => runCli(args, env));
      const users = jsonOf<UserJson[]>(result);
      expect(users.map((u) => u.email)).toEqual(['carol@example.com', 'dave@wonderland']);
      expect(users[0]).toEqual(carol);
      expect(users[1]).toMatchObject({ id: dave.id, hasPassword: false });
      expect(result.stdout).not.toMatch(/argon2|password_?hash/i);

      expect(jsonOf<UserJson[]>(secondPage).map((u) => u.id)).toEqual([dave.id]);
    });

    it('users disable and users enable change the status, whatever the case of the email', async () => {
      const disabled = jsonOf<UserJson>(cli(['users', 'disable', '--email', 'CAROL@example.com']));
      expect(disabled).toMatchObject({ id: carol.id, status: 'DISABLED', hasPassword: true });
      expect(JSON.stringify(disabled)).not.toMatch(/argon2|password_?hash/i);
      const status = (): Promise<string> =>
        withSql(storage, async (q) => (await q<{ status: string }>(`SELECT status::text FROM users WHERE id = $1`, [carol.id]))[0]!.status);
      await expect(status()).resolves.toBe('DISABLED');

      expect(jsonOf<UserJson>(cli(['users', 'enable', '--email', 'carol@example.com']))).toMatchObject({ id: carol.id, status: 'ACTIVE' });
      await expect(status()).resolves.toBe('ACTIVE');
    });

    it('keys add adds a key and keys revoke revokes it, leaving the other key active', async () => {
      const added = jsonOf<{ id: string; publicKeyHex: string; revokedAt: string | null }>(
        cli(['keys', 'add', '--email', 'carol@example.com', '--public-key', generated.publicKeyHex]),
      );
      expect(added).toEqual({ id: expect.any(String), publicKeyHex: generated.publicKeyHex, createdAt: expect.any(String), revokedAt: null });

      const before = Date.now();
      const revoked = jsonOf<{ id: string; revokedAt: string | null }>(
        cli(['keys', 'revoke', '--email', 'carol@example.com', '--public-key', generated.publicKeyHex]),
      );
      expect(revoked).toMatchObject({ id: added.id, publicKeyHex: generated.publicKeyHex });
      expect(revoked.revokedAt).toEqual(expect.any(String));
      expect(Math.abs(Date.parse(revoked.revokedAt!) - before)).toBeLessThan(60000);

      const keys = await withSql(storage, (q) =>
        q<{ public_key_hex: string; revoked: boolean }>(
          `SELECT public_key_hex, revoked_at IS NOT NULL AS revoked FROM public_keys WHERE user_id = $1 ORDER BY created_at`,
          [carol.id],
        ),
      );
      expect(keys).toEqual([
        { public_key_hex: FIB_PUBLIC_KEY, revoked: false },
        { public_key_hex: generated.publicKeyHex, revoked: true },
      ]);
    });
  });

  describe('bad input', () => {
    const USER = 'carol@example.com';
    const NEW = 'erin@example.org';
    const hex63 = FIB_PUBLIC_KEY.slice(1);
    const nonHex = `zz${FIB_PUBLIC_KEY.slice(2)}`;
    let revokedKey: string;

    // [description, arguments, stdin, what the message must say]. Each command gets at least one;
    // the validators' edge cases are unit-tested beside them, so this covers what the brief lists.
    const cases = (): [string, string[], string, RegExp][] => [
      ['keys generate: unknown flag', ['keys', 'generate', '--count', '2'], '', /Unknown option '--count'/],
      ['sign: missing --private-key', ['sign', '--email', USER], '', /--private-key is required/],
      ['sign: private key of 63 hex digits', ['sign', '--email', USER, '--private-key', FIB_PRIVATE_KEY.slice(1)], '', /64 hex digits/],
      ['users add: missing --email', ['users', 'add', '--account', 'erin'], '', /--email is required/],
      ['users add: unknown flag', ['users', 'add', '--email', NEW, '--account', 'erin', '--admin'], '', /Unknown option '--admin'/],
      ['users add: malformed email', ['users', 'add', '--email', 'erin.example.org', '--account', 'erin'], '', /email .*malformed/],
      ['users add: duplicate email (other case)', ['users', 'add', '--email', ' CAROL@example.COM', '--account', 'x'], '', /already exists/],
      ['users add: key of 63 hex digits', ['users', 'add', '--email', NEW, '--account', 'erin', '--public-key', hex63], '', /64 hex digits/],
      ['users add: key that is not hex', ['users', 'add', '--email', NEW, '--account', 'erin', '--public-key', nonHex], '', /64 hex digits/],
      ['users add: small-order key', ['users', 'add', '--email', NEW, '--account', 'erin', '--public-key', SMALL_ORDER_KEY], '', /small order/],
      ['users add: malformed wallet', ['users', 'add', '--email', NEW, '--account', 'erin', '--wallet', '0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea'], '', /wallet must be/],
      ['users add: wallet with a bad EIP-55 checksum', ['users', 'add', '--email', NEW, '--account', 'erin', '--wallet', BAD_CHECKSUM_WALLET], '', /EIP-55/],
      ['users add: bad --password-expires-at', ['users', 'add', '--email', NEW, '--account', 'erin', '--password-stdin', '--password-expires-at', 'next tuesday'], PASSWORD, /ISO 8601/],
      ['users list: --limit 0', ['users', 'list', '--limit', '0'], '', /--limit must be/],
      ['users disable: unknown user', ['users', 'disable', '--email', 'nobody@example.org'], '', /no user with email nobody@example.org/],
      ['users enable: unknown flag', ['users', 'enable', '--email', USER, '--force'], '', /Unknown option '--force'/],
      ['keys add: missing --public-key', ['keys', 'add', '--email', USER], '', /--public-key is required/],
      ['keys revoke: unknown user', ['keys', 'revoke', '--email', 'nobody@example.org', '--public-key', FIB_PUBLIC_KEY], '', /no user with email/],
      ['keys revoke: an already revoked key', ['keys', 'revoke', '--email', USER, '--public-key', revokedKey], '', /no active key/],
      ['db migrate: unexpected argument', ['db', 'migrate', 'now'], '', /Unexpected argument 'now'/],
      ['db seed: missing file', ['db', 'seed', '--file', '/nonexistent/seed.json'], '', /cannot read seed file \/nonexistent\/seed.json/],
    ];
    const UNKNOWN_COMMANDS = [['users', 'delete', '--email', USER], []];
    const AFTER_NOT_AN_ID = ['users', 'list', '--after', 'not-a-uuid'];

    const results = new Map<string, ProcessResult>();
    let before: unknown;

    beforeAll(async () => {
      const [key] = await withSql(storage, (q) => q<{ public_key_hex: string }>(`SELECT public_key_hex FROM public_keys WHERE revoked_at IS NOT NULL`));
      revokedKey = key!.public_key_hex;
      before = await snapshot();
      // The failures are independent: run them a few at a time so the file stays fast.
      const runs: [string, string[], string][] = [
        ...cases().map(([name, args, input]): [string, string[], string] => [name, args, input]),
        ...UNKNOWN_COMMANDS.map((args): [string, string[], string] => [`unknown: ${args.join(' ')}`, args, '']),
        ['after', AFTER_NOT_AN_ID, ''],
      ];
      const outputs = await inBatches(runs, concurrency(), ([, args, input]) => runCli(args, env, input));
      runs.forEach(([name], i) => results.set(name, outputs[i]!));
    }, 180_000);

    it.each(cases().map(([name, , , message]) => [name, message] as const))('%s', (name, message) => {
      expectCliError(results.get(name)!, message);
    });

    it('none of the failed commands changed the database', async () => {
      expect(results.size).toBe(cases().length + UNKNOWN_COMMANDS.length + 1);
      await expect(snapshot()).resolves.toEqual(before);
    });

    it('an unknown command prints usage to stderr, nothing to stdout, and exits 2', () => {
      for (const args of UNKNOWN_COMMANDS) {
        const result = results.get(`unknown: ${args.join(' ')}`)!;
        const first = args.length ? `unknown command: ${args.join(' ')}\\n` : '';
        expect(result).toEqual({ status: 2, stdout: '', stderr: expect.stringMatching(new RegExp(`^${first}usage: `)) });
        expect(result.stderr).toContain('users add --email E --account A');
      }
    });

    it('--help, -h and help print the commands to stdout and exit 0', () => {
      for (const flag of ['--help', '-h', 'help']) {
        const result = cli([flag]);
        expect(result).toEqual({ status: 0, stdout: expect.stringMatching(/^usage: sigauth <command>/), stderr: '' });
        expect(result.stdout).toContain('users add --email E --account A');
      }
    });

    // Known bug (see the report): Prisma's error messages begin with a newline and the CLI prints
    // only the first line, so a non-UUID --after ends in a bare "error: ". Switch to it() once fixed.
    it('users list: an --after that is not a user id gives a message', () => {
      expectCliError(results.get('after')!, /after|id/);
    });
  });
});
