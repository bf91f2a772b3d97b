import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { checkEd25519PublicKey, describePublicKeyProblem } from './ed25519-public-key.js';
import { normalizeEmail } from './email.js';
import { parseEthereumAddress, toChecksumAddress } from './ethereum-address.js';
import { PasswordHasher } from './password-hasher.js';
import type { SqlSession } from '../database/database-connection.js';
import {
  ROLES,
  WALLET_KINDS,
  type FactoryRegistration,
  type FactoryWallets,
  type LoginCandidate,
  type NewWallet,
  type PasswordLogin,
  type PublicKeyCredential,
  type Role,
  type UserRecord,
  type UserRef,
  type UserWithCredentials,
  type WalletCredential,
  type WalletKind,
  type WalletLoginCandidate,
} from './user.types.js';
import { UsersRepository, type SeedUser } from './users.repository.js';
import { UserError } from './users.errors.js';

export interface UserInput {
  email: string;
  account: string;
  role?: string;
  publicKeys?: string[];
  /** Addresses (EOA wallets), which log in by their own signature. */
  wallets?: string[];
  /** Contract wallets, which log in only through ERC-1271 on the node. */
  contractWallets?: string[];
  password?: string | null;
  passwordExpiresAt?: string | Date | null;
}

const ACCOUNT_SHAPE = /^[^\s\p{Cc}]{1,254}$/u;
const MAX_PASSWORD_LENGTH = 1024;

@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly passwords: PasswordHasher,
    private readonly clock: Clock,
  ) {}

  async create(input: UserInput): Promise<UserWithCredentials> {
    return this.users.create(await this.prepare(input));
  }

  async getByEmail(email: string): Promise<UserWithCredentials> {
    const user = await this.users.findByEmail(normalizeEmail(email));
    if (!user) throw new UserError('USER_NOT_FOUND', `no user with email ${email.trim()}`);
    return user;
  }

  async getById(id: string): Promise<UserWithCredentials> {
    const user = /^[0-9a-f-]{36}$/i.test(id) ? await this.users.findById(id) : undefined;
    if (!user) throw new UserError('USER_NOT_FOUND', `no user with id ${id}`);
    return user;
  }

  /** A user by email or by id (a user the Factory registered has only an id and an account). */
  get(ref: UserRef): Promise<UserWithCredentials> {
    return typeof ref === 'string' ? this.getByEmail(ref) : this.getById(ref.id);
  }

  list(limit: number, after?: string): Promise<UserWithCredentials[]> {
    return this.users.list(limit, after);
  }

  /** The active user with this email and their active keys, or undefined. Login's one query. */
  findLoginCandidate(email: string): Promise<LoginCandidate | undefined> {
    return this.users.findLoginCandidate(normalizeEmail(email));
  }

  /** Login by wallet: `address` is already a parsed lower-case address. */
  findWalletLoginCandidate(address: string): Promise<WalletLoginCandidate | undefined> {
    return this.users.findWalletLoginCandidate(address);
  }

  /** The active user with a password, by email (a login) or id (a token refresh). */
  findPasswordLogin(by: { email: string } | { id: string }): Promise<PasswordLogin | undefined> {
    if ('email' in by) {
      let email: string;
      try {
        email = normalizeEmail(by.email);
      } catch {
        return Promise.resolve(undefined);
      }
      return this.users.findPasswordLogin({ email });
    }
    return this.users.findPasswordLogin(by);
  }

  /**
   * Registers Factory creations inside the chain follower's transaction `tx` (see
   * UsersRepository.registerFactoryWallets); addresses are validated and lower-cased here.
   */
  registerFactoryWallets(tx: SqlSession, creations: FactoryWallets[]): Promise<FactoryRegistration[]> {
    const valid = creations.map(({ owner, contract }) => ({ owner: validWallet(owner), contract: validWallet(contract), account: toChecksumAddress(owner) }));
    return this.users.registerFactoryWallets(tx, valid, new Date(this.clock.now()));
  }

  async setStatus(ref: UserRef, status: 'ACTIVE' | 'DISABLED'): Promise<UserRecord> {
    const user = await this.get(ref);
    return this.users.setStatus(user.id, status);
  }

  async addPublicKey(ref: UserRef, publicKeyHex: string): Promise<PublicKeyCredential> {
    const user = await this.get(ref);
    return this.users.addPublicKey(user.id, validPublicKey(publicKeyHex));
  }

  async revokePublicKey(ref: UserRef, publicKeyHex: string): Promise<PublicKeyCredential> {
    const user = await this.get(ref);
    const key = await this.users.revokePublicKey(user.id, validPublicKey(publicKeyHex), new Date(this.clock.now()));
    if (!key) throw new UserError('CREDENTIAL_NOT_FOUND', 'the user holds no active key with this value');
    return key;
  }

  async addWallet(ref: UserRef, address: string, kind: WalletKind = 'EOA'): Promise<WalletCredential> {
    const user = await this.get(ref);
    return this.users.addWallet(user.id, { address: validWallet(address), kind: validWalletKind(kind) });
  }

  async revokeWallet(ref: UserRef, address: string): Promise<WalletCredential> {
    const user = await this.get(ref);
    const wallet = await this.users.revokeWallet(user.id, validWallet(address), new Date(this.clock.now()));
    if (!wallet) throw new UserError('CREDENTIAL_NOT_FOUND', 'the user holds no active wallet with this address');
    return wallet;
  }

  /** A new password (Argon2id), under a new credential id; returns the id of the one it replaced, whose sessions end. */
  async setPassword(ref: UserRef, password: string, passwordExpiresAt?: string | Date | null): Promise<{ user: UserRecord; replacedPasswordId: string | null }> {
    const user = await this.get(ref);
    const hash = await this.passwords.hash(validPassword(password));
    const changed = await this.users.setPassword(user.id, hash, parseExpiry(passwordExpiresAt), new Date(this.clock.now()));
    if (!changed) throw new UserError('USER_NOT_FOUND', `no user with id ${user.id}`);
    return changed;
  }

  /**
   * Validates every user first, so a bad entry fails the seed before anything is written. A seed
   * that names a user's current password keeps it (and the sessions it opened); one that names
   * another replaces it, and the ids of the replaced passwords are returned so their sessions end.
   */
  async upsertMany(inputs: UserInput[]): Promise<{ created: number; updated: number; replacedPasswordIds: string[]; roleChangedUserIds: string[] }> {
    const seen = new Set<string>();
    const prepared: (SeedUser & { password: string | null })[] = [];
    for (const [index, input] of inputs.entries()) {
      try {
        const user = await this.prepare(input);
        if (seen.has(user.email)) throw new UserError('EMAIL_TAKEN', `email ${user.email} appears twice`);
        seen.add(user.email);
        prepared.push(user);
      } catch (error) {
        if (error instanceof UserError) throw new UserError(error.code, `users[${index}]: ${error.message}`);
        throw error;
      }
    }
    const stored = await this.users.findPasswords(prepared.filter((u) => u.password !== null).map((u) => u.email));
    const replacedPasswordIds: string[] = [];
    for (const user of prepared) {
      const current = stored.get(user.email);
      if (user.password === null || !current) continue;
      if (await this.passwords.verify(current.passwordHash, user.password)) user.passwordHash = current.passwordHash;
      else replacedPasswordIds.push(current.passwordId);
    }
    return { ...(await this.users.upsertMany(prepared)), replacedPasswordIds };
  }

  private async prepare(input: UserInput): Promise<SeedUser & { password: string | null }> {
    if (typeof input.email !== 'string') throw new UserError('INVALID_EMAIL', 'email must be a string');
    const email = normalizeEmail(input.email);
    if (typeof input.account !== 'string' || !ACCOUNT_SHAPE.test(input.account)) {
      throw new UserError('INVALID_ACCOUNT', 'account must be 1 to 254 characters without whitespace');
    }
    const role = input.role ?? 'ROLE_PEER';
    if (!ROLES.includes(role as Role)) throw new UserError('INVALID_ROLE', `role must be one of ${ROLES.join(', ')}`);
    const publicKeys = [...new Set((input.publicKeys ?? []).map(validPublicKey))];
    const wallets = walletsOf(input);
    const password = input.password === undefined || input.password === null ? null : validPassword(input.password);
    const passwordExpiresAt = parseExpiry(input.passwordExpiresAt);
    if (passwordExpiresAt && password === null) {
      throw new UserError('INVALID_PASSWORD', 'a password expiry needs a password');
    }
    return {
      email,
      account: input.account,
      role: role as Role,
      publicKeys,
      wallets,
      passwordHash: password === null ? null : await this.passwords.hash(password),
      passwordExpiresAt,
      password,
    };
  }
}

function validPassword(password: unknown): string {
  if (typeof password !== 'string' || password.length === 0 || password.length > MAX_PASSWORD_LENGTH) {
    throw new UserError('INVALID_PASSWORD', `password must be 1 to ${MAX_PASSWORD_LENGTH} characters`);
  }
  return password;
}

function validPublicKey(hex: unknown): string {
  if (typeof hex !== 'string') throw new UserError('INVALID_PUBLIC_KEY', 'public key must be a string of 64 hex digits');
  const problem = checkEd25519PublicKey(hex);
  if (problem) throw new UserError('INVALID_PUBLIC_KEY', describePublicKeyProblem(problem));
  return hex.toLowerCase();
}

function validWalletKind(kind: unknown): WalletKind {
  if (!WALLET_KINDS.includes(kind as WalletKind)) throw new UserError('INVALID_WALLET', `wallet kind must be one of ${WALLET_KINDS.join(', ')}`);
  return kind as WalletKind;
}

/** A user's addresses and contracts, once each; one address cannot be both. */
function walletsOf(input: UserInput): NewWallet[] {
  const byAddress = new Map<string, NewWallet>();
  for (const [list, kind] of [[input.wallets, 'EOA'], [input.contractWallets, 'CONTRACT']] as const) {
    for (const address of (list ?? []).map(validWallet)) {
      const held = byAddress.get(address);
      if (held && held.kind !== kind) {
        throw new UserError('INVALID_WALLET', `${address} is listed both as an address and as a contract wallet`);
      }
      byAddress.set(address, { address, kind });
    }
  }
  return [...byAddress.values()];
}

function validWallet(address: unknown): string {
  const parsed = typeof address === 'string' ? parseEthereumAddress(address) : undefined;
  if (!parsed) throw new UserError('INVALID_WALLET', 'wallet must be a 0x-prefixed 20-byte hex address with a valid EIP-55 checksum');
  return parsed;
}

// A date (midnight UTC) or a date-time with an explicit zone: no local time, no guessing.
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

function parseExpiry(value: string | Date | null | undefined): Date | null {
  if (value === undefined || value === null || value === '') return null;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new UserError('INVALID_PASSWORD', 'password expiry is not a valid date');
    return value;
  }
  const match = typeof value === 'string' ? ISO_8601.exec(value) : null;
  const date = match ? new Date(value) : undefined;
  // new Date('2027-02-30') rolls over to March; a day that does not exist is refused instead.
  const [year, month, day] = (match ?? []).slice(1, 4).map(Number);
  const real = match && new Date(Date.UTC(year!, month! - 1, day!)).getUTCDate() === day && month! >= 1 && month! <= 12;
  if (!date || Number.isNaN(date.getTime()) || !real) {
    throw new UserError('INVALID_PASSWORD', 'password expiry must be an ISO 8601 date or date-time with a zone (2027-01-31 or 2027-01-31T12:00:00Z)');
  }
  return date;
}
