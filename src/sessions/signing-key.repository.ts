import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service.js';

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

@Injectable()
export class SigningKeyRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Keys still needed: the active ones, and retired ones that may have signed an unexpired token; never a revoked one. */
  findUsable(retiredAfter: Date): Promise<StoredSigningKey[]> {
    return this.prisma.signingKey.findMany({
      where: { revokedAt: null, OR: [{ retiredAt: null }, { retiredAt: { gt: retiredAfter } }] },
      orderBy: { createdAt: 'desc' },
    });
  }

  async find(kid: string): Promise<StoredSigningKey | undefined> {
    return (await this.prisma.signingKey.findUnique({ where: { kid } })) ?? undefined;
  }

  /** Stores a key; with `retireOthersAt`, every other active key is retired then, in the same transaction. */
  async insert(key: Omit<StoredSigningKey, 'createdAt' | 'retiredAt' | 'revokedAt'>, retireOthersAt?: Date): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      if (retireOthersAt) await tx.signingKey.updateMany({ where: { retiredAt: null }, data: { retiredAt: retireOthersAt } });
      await tx.signingKey.create({ data: key });
    });
    await this.announceChange();
  }

  /** Replaces a plaintext private key with its sealed form; false when another instance did it first. */
  async seal(kid: string, sealed: string): Promise<boolean> {
    const { count } = await this.prisma.signingKey.updateMany({ where: { kid, encrypted: false }, data: { privateKey: sealed, encrypted: true } });
    return count === 1;
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
