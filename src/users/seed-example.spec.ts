import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { checkEd25519PublicKey } from './ed25519-public-key.js';
import { parseEthereumAddress } from './ethereum-address.js';
import { readSeedFile } from './seed-file.js';

const EXAMPLE = join(process.cwd(), 'prisma', 'seed.example.json');

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * The example's keys and wallets are hashes of a fixed text: a public key whose bytes come from a
 * hash has a private key nobody knows, and an address that is a hash's last 20 bytes has no known
 * key either. Any key pair someone generated, or a test's key, would be a credential that works.
 */
const nobodysPublicKeys = Array.from({ length: 16 }, (_, n) => sha256(`sigauth example public key ${n}`));
const nobodysWallets = Array.from({ length: 16 }, (_, n) => `0x${sha256(`sigauth example wallet ${n}`).slice(-40)}`);

describe('prisma/seed.example.json (what `db seed` with no --file creates)', () => {
  it('is a seed file whose keys and wallets pass the checks a seed makes', async () => {
    const users = await readSeedFile(EXAMPLE);
    expect(users.length).toBeGreaterThan(0);
    expect(users.flatMap((u) => u.publicKeys ?? []).map((key) => checkEd25519PublicKey(key) ?? 'valid')).toEqual(users.flatMap((u) => u.publicKeys ?? []).map(() => 'valid'));
    expect(users.flatMap((u) => u.wallets ?? []).filter((wallet) => parseEthereumAddress(wallet) === undefined)).toEqual([]);
  });

  it('creates no admin and gives no account a password', async () => {
    const users = await readSeedFile(EXAMPLE);
    expect(users.filter((u) => (u.role ?? 'ROLE_PEER') === 'ROLE_ADMIN').map((u) => u.email)).toEqual([]);
    expect(users.filter((u) => u.password !== null || u.passwordExpiresAt !== null).map((u) => u.email)).toEqual([]);
  });

  it('holds only keys and wallets whose private keys nobody has', async () => {
    const users = await readSeedFile(EXAMPLE);
    const keys = users.flatMap((u) => u.publicKeys ?? []);
    const wallets = users.flatMap((u) => (u.wallets ?? []).map((w) => w.toLowerCase()));
    expect(keys.filter((key) => !nobodysPublicKeys.includes(key.toLowerCase()))).toEqual([]);
    expect(wallets.filter((wallet) => !nobodysWallets.includes(wallet))).toEqual([]);
  });
});
