import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';

export interface StoredSigningKey {
  kid: string;
  publicKeyHex: string;
  privateKey: string;
  encrypted: boolean;
  createdAt: Date;
  retiredAt: Date | null;
  revokedAt: Date | null;
}

/** Every instance listens here, and reloads its keys when a key is created, retired or revoked. */
const CHANNEL = 'sigauth_signing_keys';

const COLUMNS = `kid, public_key_hex AS "publicKeyHex", private_key AS "privateKey", encrypted,
  created_at AS "createdAt", retired_at AS "retiredAt", revoked_at AS "revokedAt"`;

@Injectable()
export class SigningKeyRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Keys still needed: the active ones, and retired ones that may have signed an unexpired token;
   * never a revoked one. What a worker does with keys at boot (read them, create the first,
   * encrypt them at rest) is SQL on the connection, not Prisma queries: Prisma's query compiler
   * (about 30 MB, WASM) is then loaded only by a worker that serves a route built on Prisma's
   * query API (admin, the CLI); revocation, an admin's act, stays on Prisma.
   */
  findUsable(retiredAfter: Date): Promise<StoredSigningKey[]> {
    return this.prisma.connection.query<StoredSigningKey>(
      `SELECT ${COLUMNS} FROM signing_keys WHERE revoked_at IS NULL AND (retired_at IS NULL OR retired_at > $1) ORDER BY created_at DESC`,
      [retiredAfter],
    );
  }

  async find(kid: string): Promise<StoredSigningKey | undefined> {
    const [row] = await this.prisma.connection.query<StoredSigningKey>(`SELECT ${COLUMNS} FROM signing_keys WHERE kid = $1`, [kid]);
    return row;
  }

  /** Stores a key; with `retireOthersAt`, every other active key is retired then, in the same transaction. */
  async insert(key: Omit<StoredSigningKey, 'createdAt' | 'retiredAt' | 'revokedAt'>, retireOthersAt?: Date): Promise<void> {
    await this.prisma.connection.transaction(async (tx) => {
      if (retireOthersAt) await tx.query('UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL', [retireOthersAt]);
      await tx.query('INSERT INTO signing_keys (kid, public_key_hex, private_key, encrypted) VALUES ($1, $2, $3, $4)', [key.kid, key.publicKeyHex, key.privateKey, key.encrypted]);
    });
    await this.announceChange();
  }

  /** Replaces a plaintext private key with its sealed form; false when another instance did it first. */
  async seal(kid: string, sealed: string): Promise<boolean> {
    const rows = await this.prisma.connection.query('UPDATE signing_keys SET private_key = $2, encrypted = true WHERE kid = $1 AND encrypted = false RETURNING kid', [kid, sealed]);
    return rows.length === 1;
  }

  async revoke(kid: string, at: Date): Promise<void> {
    await this.prisma.$transaction([
      this.prisma.signingKey.updateMany({ where: { kid, retiredAt: null }, data: { retiredAt: at } }),
      this.prisma.signingKey.updateMany({ where: { kid, revokedAt: null }, data: { revokedAt: at } }),
    ]);
    await this.announceChange();
  }

  /** Calls `changed` whenever any instance changes the keys (and once after a lost connection comes back). */
  onChange(changed: () => void): Promise<() => Promise<void>> {
    return this.prisma.connection.listen(CHANNEL, changed);
  }

  private async announceChange(): Promise<void> {
    await this.prisma.connection.notify(CHANNEL);
  }
}
