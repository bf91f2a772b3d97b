import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service.js';

export interface StoredSigningKey {
  kid: string;
  publicKeyHex: string;
  privateKey: string;
  encrypted: boolean;
  createdAt: Date;
  retiredAt: Date | null;
}

@Injectable()
export class SigningKeyRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Keys still needed: the active ones, and retired ones that may have signed an unexpired token. */
  findUsable(retiredAfter: Date): Promise<StoredSigningKey[]> {
    return this.prisma.signingKey.findMany({
      where: { OR: [{ retiredAt: null }, { retiredAt: { gt: retiredAfter } }] },
      orderBy: { createdAt: 'desc' },
    });
  }

  /** Stores a key; with `retireOthersAt`, every other active key is retired then, in the same transaction. */
  async insert(key: Omit<StoredSigningKey, 'createdAt' | 'retiredAt'>, retireOthersAt?: Date): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      if (retireOthersAt) await tx.signingKey.updateMany({ where: { retiredAt: null }, data: { retiredAt: retireOthersAt } });
      await tx.signingKey.create({ data: key });
    });
  }
}
