import { readFile } from 'node:fs/promises';
import type { UserInput } from './users.service.js';
import { UserError } from './users.errors.js';
import { firstLine } from '../common/first-line.js';

/** Reads `{ "users": [ { email, account, role, publicKeys, wallets, contractWallets, password, passwordExpiresAt } ] }`. */
export async function readSeedFile(path: string): Promise<UserInput[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new UserError('INVALID_SEED_FILE', `cannot read seed file ${path}: ${firstLine(error)}`);
  }
  const users = (parsed as { users?: unknown })?.users;
  if (!Array.isArray(users)) throw new UserError('INVALID_SEED_FILE', `seed file ${path} must be an object with a "users" array`);
  return users.map((u: unknown, i): UserInput => {
    if (typeof u !== 'object' || u === null) throw new UserError('INVALID_SEED_FILE', `users[${i}] must be an object`);
    const r = u as Record<string, unknown>;
    const list = (name: string): string[] => {
      const v = r[name] ?? [];
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
        throw new UserError(name === 'publicKeys' ? 'INVALID_PUBLIC_KEY' : 'INVALID_WALLET', `users[${i}].${name} must be an array of strings`);
      }
      return v as string[];
    };
    return {
      email: r.email as string,
      account: r.account as string,
      role: r.role as string | undefined,
      publicKeys: list('publicKeys'),
      wallets: list('wallets'),
      contractWallets: list('contractWallets'),
      password: (r.password as string | null | undefined) ?? null,
      passwordExpiresAt: (r.passwordExpiresAt as string | null | undefined) ?? null,
    };
  });
}
