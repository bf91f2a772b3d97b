import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Prisma } from '../generated/prisma/client.js';
import type { SqlSession } from '../database/database-connection.js';
import { PrismaService } from '../database/prisma.service.js';
import type {
  FactoryRegistration,
  FactoryWallets,
  LoginCandidate,
  NewWallet,
  PasswordLogin,
  SessionPrincipal,
  NewUser,
  PublicKeyCredential,
  StoredPassword,
  UserRecord,
  UserStatus,
  UserWithCredentials,
  WalletCredential,
  WalletKind,
  WalletLoginCandidate,
} from './user.types.js';
import { UserError } from './users.errors.js';

const withCredentials = {
  publicKeys: { orderBy: { createdAt: 'asc' } },
  wallets: { orderBy: { createdAt: 'asc' } },
} satisfies Prisma.UserInclude;

type UserRow = Prisma.UserGetPayload<object>;
type UserRowWithCredentials = Prisma.UserGetPayload<{ include: typeof withCredentials }>;

function toRecord(row: UserRow): UserRecord {
  return {
    id: row.id,
    email: row.email,
    account: row.account,
    role: row.role,
    status: row.status,
    hasPassword: row.passwordHash !== null,
    passwordExpiresAt: row.passwordExpiresAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function toUserWithCredentials(row: UserRowWithCredentials): UserWithCredentials {
  return {
    ...toRecord(row),
    publicKeys: row.publicKeys.map(({ id, publicKeyHex, createdAt, revokedAt }) => ({ id, publicKeyHex, createdAt, revokedAt })),
    wallets: row.wallets.map(({ id, address, kind, createdAt, revokedAt }) => ({ id, address, kind, createdAt, revokedAt })),
  };
}

/** The model whose unique constraint a write violated, or undefined for any other error. */
function uniqueViolationModel(error: unknown): string | undefined {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError) || error.code !== 'P2002') return undefined;
  return (error.meta?.modelName as string | undefined) ?? 'unknown';
}

function translateUniqueViolation(error: unknown, email?: string): unknown {
  switch (uniqueViolationModel(error)) {
    case undefined:
      return error;
    case 'Wallet':
      return new UserError('CREDENTIAL_EXISTS', 'the wallet is already held by an active user');
    case 'PublicKey':
      return new UserError('CREDENTIAL_EXISTS', 'the user already holds this public key');
    default:
      return new UserError('EMAIL_TAKEN', `a user with email ${email ?? 'this email'} already exists`);
  }
}

export type SeedUser = NewUser;

/** The only code that queries the user tables. Returns plain domain types. */
@Injectable()
export class UsersRepository {
  constructor(private readonly prisma: PrismaService) {}

  async create(user: NewUser): Promise<UserWithCredentials> {
    try {
      const row = await this.prisma.user.create({
        data: {
          email: user.email,
          account: user.account,
          role: user.role,
          passwordHash: user.passwordHash,
          passwordId: user.passwordHash === null ? null : randomUUID(),
          passwordExpiresAt: user.passwordExpiresAt,
          publicKeys: { create: user.publicKeys.map((publicKeyHex) => ({ publicKeyHex })) },
          wallets: { create: user.wallets.map(({ address, kind }) => ({ address, kind })) },
        },
        include: withCredentials,
      });
      return toUserWithCredentials(row);
    } catch (error) {
      throw translateUniqueViolation(error, user.email);
    }
  }

  async findByEmail(email: string): Promise<UserWithCredentials | undefined> {
    const row = await this.prisma.user.findUnique({ where: { email }, include: withCredentials });
    return row ? toUserWithCredentials(row) : undefined;
  }

  async findById(id: string): Promise<UserWithCredentials | undefined> {
    const row = await this.prisma.user.findUnique({ where: { id }, include: withCredentials });
    return row ? toUserWithCredentials(row) : undefined;
  }

  /** Keyset pagination in creation order; `after` is the last id of the previous page. */
  async list(limit: number, after?: string): Promise<UserWithCredentials[]> {
    const rows = await this.prisma.user.findMany({
      take: limit,
      ...(after ? { cursor: { id: after }, skip: 1 } : {}),
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      include: withCredentials,
    });
    return rows.map(toUserWithCredentials);
  }

  async setStatus(id: string, status: UserStatus): Promise<UserRecord> {
    return toRecord(await this.prisma.user.update({ where: { id }, data: { status } }));
  }

  /**
   * The active user with this email and their active keys, in one round trip: this is the only
   * query a FIB login makes before the session is written, so it is plain SQL on the pool.
   */
  async findLoginCandidate(email: string): Promise<LoginCandidate | undefined> {
    const rows = await this.prisma.connection.query<LoginCandidate & { activeKeys: { id: string; publicKeyHex: string }[] | null }>(
      `SELECT u.id, u.email, u.account, u.role,
              json_agg(json_build_object('id', k.id, 'publicKeyHex', k.public_key_hex)) FILTER (WHERE k.id IS NOT NULL) AS "activeKeys"
         FROM users u
         LEFT JOIN public_keys k ON k.user_id = u.id AND k.revoked_at IS NULL
        WHERE u.email = $1 AND u.status = 'ACTIVE'
        GROUP BY u.id`,
      [email],
      'login-candidate',
    );
    const row = rows[0];
    return row ? { id: row.id, email: row.email, account: row.account, role: row.role, activeKeys: row.activeKeys ?? [] } : undefined;
  }

  /** The active user holding this active wallet, with the wallet's id and kind, or undefined. One named statement: every Ethereum login asks it. */
  async findWalletLoginCandidate(address: string): Promise<WalletLoginCandidate | undefined> {
    const [row] = await this.prisma.connection.query<SessionPrincipal & { walletId: string; kind: WalletKind }>(
      `SELECT w.id AS "walletId", w.kind, u.id AS "userId", u.email, u.account, u.role
         FROM wallets w
         JOIN users u ON u.id = w.user_id
        WHERE w.address = $1 AND w.revoked_at IS NULL AND u.status = 'ACTIVE'
        LIMIT 1`,
      [address],
      'wallet-login-candidate',
    );
    if (!row) return undefined;
    const { walletId, kind, ...principal } = row;
    return { principal, walletId, kind };
  }

  /** The active user with a password, found by email or id, or undefined. */
  async findPasswordLogin(where: { email: string } | { id: string }): Promise<PasswordLogin | undefined> {
    const row = await this.prisma.user.findFirst({
      where: { ...where, status: 'ACTIVE', passwordHash: { not: null } },
      select: { id: true, email: true, account: true, role: true, passwordHash: true, passwordId: true, passwordExpiresAt: true },
    });
    if (!row) return undefined;
    return {
      principal: { userId: row.id, email: row.email, account: row.account, role: row.role },
      passwordHash: row.passwordHash!,
      passwordId: row.passwordId!,
      passwordExpiresAt: row.passwordExpiresAt,
    };
  }

  /**
   * Sets a new password, under a new id; returns the user and the id of the password it replaced
   * (whose sessions end), or undefined when there is no such user.
   */
  async setPassword(userId: string, passwordHash: string, expiresAt: Date | null, now: Date): Promise<{ user: UserRecord; replacedPasswordId: string | null } | undefined> {
    return this.prisma.$transaction(async (tx) => {
      const before = await tx.user.findUnique({ where: { id: userId }, select: { passwordId: true } });
      if (!before) return undefined;
      const row = await tx.user.update({ where: { id: userId }, data: { passwordHash, passwordId: randomUUID(), passwordExpiresAt: expiresAt, updatedAt: now } });
      return { user: toRecord(row), replacedPasswordId: before.passwordId };
    });
  }

  /** The stored password hashes of these users (by normalised email), for a seed to tell which passwords it changes. */
  async findPasswords(emails: string[]): Promise<Map<string, StoredPassword>> {
    const rows = await this.prisma.user.findMany({
      where: { email: { in: emails }, passwordHash: { not: null } },
      select: { email: true, passwordHash: true, passwordId: true },
    });
    return new Map(rows.map((r) => [r.email!, { passwordHash: r.passwordHash!, passwordId: r.passwordId! }]));
  }

  async addPublicKey(userId: string, publicKeyHex: string): Promise<PublicKeyCredential> {
    try {
      return await this.prisma.publicKey.create({
        data: { userId, publicKeyHex },
        select: { id: true, publicKeyHex: true, createdAt: true, revokedAt: true },
      });
    } catch (error) {
      throw translateUniqueViolation(error);
    }
  }

  /** Marks the key revoked; returns it, or undefined when the user holds no such unrevoked key. */
  async revokePublicKey(userId: string, publicKeyHex: string, now: Date): Promise<PublicKeyCredential | undefined> {
    return this.prisma.$transaction(async (tx) => {
      const key = await tx.publicKey.findFirst({ where: { userId, publicKeyHex, revokedAt: null } });
      if (!key) return undefined;
      return tx.publicKey.update({
        where: { id: key.id },
        data: { revokedAt: now },
        select: { id: true, publicKeyHex: true, createdAt: true, revokedAt: true },
      });
    });
  }

  async addWallet(userId: string, wallet: NewWallet): Promise<WalletCredential> {
    try {
      return await this.prisma.wallet.create({
        data: { userId, address: wallet.address, kind: wallet.kind },
        select: { id: true, address: true, kind: true, createdAt: true, revokedAt: true },
      });
    } catch (error) {
      throw translateUniqueViolation(error);
    }
  }

  async revokeWallet(userId: string, address: string, now: Date): Promise<WalletCredential | undefined> {
    return this.prisma.$transaction(async (tx) => {
      const wallet = await tx.wallet.findFirst({ where: { userId, address, revokedAt: null } });
      if (!wallet) return undefined;
      return tx.wallet.update({
        where: { id: wallet.id },
        data: { revokedAt: now },
        select: { id: true, address: true, kind: true, createdAt: true, revokedAt: true },
      });
    });
  }

  /**
   * Registers each Factory creation inside `tx`: the transaction of the chain follower that moves
   * its cursor past these blocks (src/chain/chain-cursor.repository.ts), so the registrations and
   * the cursor commit together or not at all. A creator whose address no one holds becomes a new
   * user (no email, the checksummed address as account) holding that address as an EOA wallet.
   * The created contract is added as a CONTRACT wallet, which logs in only through ERC-1271,
   * never with a key; a contract someone already holds is left to them.
   *
   * An event is only what the node says, so it never adds a wallet to a user the Factory did not
   * create: a forged `WalletCreated(owner = an admin's address, wallet = the forger's)` would
   * otherwise give the forger that admin's account. Only the follower creates users without an
   * email (admins, the command line and seeds must give one), so that is how such a user is told.
   */
  async registerFactoryWallets(tx: SqlSession, creations: (FactoryWallets & { account: string })[], now: Date): Promise<FactoryRegistration[]> {
    const registered: FactoryRegistration[] = [];
    for (const { owner, contract, account } of creations) {
      const [holder] = await tx.query<{ user_id: string; from_factory: boolean }>(
        'SELECT w.user_id, u.email IS NULL AS from_factory FROM wallets w JOIN users u ON u.id = w.user_id WHERE w.address = $1 AND w.revoked_at IS NULL',
        [owner],
      );
      if (holder && !holder.from_factory) {
        registered.push({ userId: null, userCreated: false, contractAdded: false, refused: 'CREATOR_NOT_FROM_FACTORY' });
        continue;
      }
      let userId = holder?.user_id;
      if (userId === undefined) {
        const [created] = await tx.query<{ id: string }>(
          `INSERT INTO users (id, email, account, role, created_at, updated_at) VALUES (gen_random_uuid(), NULL, $1, 'ROLE_PEER', $2, $2) RETURNING id`,
          [account, now],
        );
        userId = created!.id;
        await tx.query(`INSERT INTO wallets (id, user_id, address, kind, created_at) VALUES (gen_random_uuid(), $1, $2, 'EOA', $3)`, [userId, owner, now]);
      }
      const added = await tx.query(
        `INSERT INTO wallets (id, user_id, address, kind, created_at) VALUES (gen_random_uuid(), $1, $2, 'CONTRACT', $3) ON CONFLICT (address) WHERE revoked_at IS NULL DO NOTHING RETURNING id`,
        [userId, contract, now],
      );
      registered.push({ userId, userCreated: holder === undefined, contractAdded: added.length === 1 });
    }
    return registered;
  }

  /**
   * Inserts or updates users by email, adding keys and wallets they do not hold yet, in batched
   * statements (seeding 10,000 users must take seconds, not minutes). Returns users created.
   */
  async upsertMany(users: SeedUser[]): Promise<{ created: number; updated: number; roleChangedUserIds: string[] }> {
    let created = 0;
    const roleChanged: string[] = [];
    for (let start = 0; start < users.length; start += 1000) {
      const batch = users.slice(start, start + 1000);
      created += await this.prisma.$transaction(async (tx) => {
        const rows = await tx.$queryRaw<{ id: string; email: string; inserted: boolean; role_changed: boolean }[]>`
          WITH prior AS (SELECT id, role FROM users WHERE email = ANY(${batch.map((u) => u.email)}::text[]))
          INSERT INTO users (id, email, account, role, password_hash, password_id, password_expires_at, updated_at)
          SELECT gen_random_uuid(), u.email, u.account, u.role::"Role", u.password_hash,
                 CASE WHEN u.password_hash IS NOT NULL THEN gen_random_uuid() END, u.password_expires_at, now()
            FROM jsonb_to_recordset(${JSON.stringify(
              batch.map((u) => ({
                email: u.email,
                account: u.account,
                role: u.role,
                password_hash: u.passwordHash,
                password_expires_at: u.passwordExpiresAt?.toISOString() ?? null,
              })),
            )}::jsonb) AS u(email text, account text, role text, password_hash text, password_expires_at timestamptz)
          ON CONFLICT (email) DO UPDATE SET
            account = EXCLUDED.account,
            role = EXCLUDED.role,
            password_hash = COALESCE(EXCLUDED.password_hash, users.password_hash),
            -- A seed that gives the stored hash back (the same password) keeps the password's id, and so its sessions.
            password_id = CASE WHEN EXCLUDED.password_hash IS NULL OR EXCLUDED.password_hash = users.password_hash
                               THEN users.password_id ELSE EXCLUDED.password_id END,
            password_expires_at = CASE WHEN EXCLUDED.password_hash IS NULL THEN users.password_expires_at ELSE EXCLUDED.password_expires_at END,
            updated_at = now()
          RETURNING id, email, (xmax = 0) AS inserted, users.role IS DISTINCT FROM (SELECT role FROM prior WHERE prior.id = users.id) AND xmax <> 0 AS role_changed`;
        roleChanged.push(...rows.filter((r) => r.role_changed).map((r) => r.id));
        const idByEmail = new Map(rows.map((r) => [r.email, r.id]));
        const keys = batch.flatMap((u) => u.publicKeys.map((k) => ({ userId: idByEmail.get(u.email)!, publicKeyHex: k })));
        const wallets = batch.flatMap((u) => u.wallets.map(({ address, kind }) => ({ userId: idByEmail.get(u.email)!, address, kind })));
        if (keys.length > 0) await tx.publicKey.createMany({ data: keys, skipDuplicates: true });
        if (wallets.length > 0) await tx.wallet.createMany({ data: wallets, skipDuplicates: true });
        return rows.filter((r) => r.inserted).length;
      }, { timeout: 60000 });
    }
    // PostgreSQL's advice after a bulk load: until autovacuum gets to them (a minute or more), the
    // planner knows nothing of these rows and plans the session core's joins over them as if the
    // tables were empty. Measured by the bench, right after seeding 1,000 users: refreshes at an eighth
    // of the rate they reach once the tables are analyzed.
    if (users.length >= 100) await this.prisma.$executeRawUnsafe('ANALYZE users, public_keys, wallets');
    return { created, updated: users.length - created, roleChangedUserIds: roleChanged };
  }
}
