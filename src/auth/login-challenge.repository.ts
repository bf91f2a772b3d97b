import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service.js';

@Injectable()
export class LoginChallengeRepository {
  private lastPurge = 0;

  constructor(private readonly prisma: PrismaService) {}

  async create(nonce: string, email: string, expiresAt: Date): Promise<void> {
    await this.purgeExpired();
    await this.prisma.loginChallenge.create({ data: { nonce, email, expiresAt } });
  }

  /** Marks the nonce used if it was issued for this email, is unused and unexpired; one caller wins. */
  async consume(nonce: string, email: string): Promise<boolean> {
    const { count } = await this.prisma.loginChallenge.updateMany({
      where: { nonce, email, usedAt: null, expiresAt: { gt: new Date() } },
      data: { usedAt: new Date() },
    });
    return count === 1;
  }

  private async purgeExpired(): Promise<void> {
    if (Date.now() - this.lastPurge < 60_000) return;
    this.lastPurge = Date.now();
    await this.prisma.loginChallenge.deleteMany({ where: { expiresAt: { lt: new Date(Date.now() - 60_000) } } });
  }
}
