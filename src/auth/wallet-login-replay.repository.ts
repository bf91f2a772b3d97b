import { Injectable } from '@nestjs/common';
import { Prisma } from '../generated/prisma/client.js';
import { PrismaService } from '../prisma/prisma.service.js';

/** Remembers accepted (address, timestamp) pairs, shared by every instance through the database. */
@Injectable()
export class WalletLoginReplayRepository {
  private lastPurge = 0;

  constructor(private readonly prisma: PrismaService) {}

  /** Records the pair; false when it was recorded before (a replay). */
  async claim(address: string, timestampMs: number, expiresAt: Date): Promise<boolean> {
    await this.purgeExpired();
    try {
      await this.prisma.walletLoginReplay.create({ data: { address, timestampMs: BigInt(timestampMs), expiresAt } });
      return true;
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') return false;
      throw error;
    }
  }

  /** Expired pairs can no longer pass the time window, so they need not be kept. At most once a minute. */
  private async purgeExpired(): Promise<void> {
    if (Date.now() - this.lastPurge < 60_000) return;
    this.lastPurge = Date.now();
    await this.prisma.walletLoginReplay.deleteMany({ where: { expiresAt: { lt: new Date() } } });
  }
}
