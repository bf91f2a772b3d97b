import { Injectable } from '@nestjs/common';
import { AtMostEvery } from '../../common/at-most-every.js';
import { PrismaService } from '../../database/prisma.service.js';

/** Expired nonces can no longer log in; once a minute, those expired for over a minute go. */
const PURGE_MARGIN_MS = 60_000;

@Injectable()
export class LoginChallengeRepository {
  private readonly purge = new AtMostEvery(60_000);

  constructor(private readonly prisma: PrismaService) {}

  async create(nonce: string, email: string, expiresAt: Date, now: Date): Promise<void> {
    if (this.purge.due(now.getTime())) await this.prisma.loginChallenge.deleteMany({ where: { expiresAt: { lt: new Date(now.getTime() - PURGE_MARGIN_MS) } } });
    await this.prisma.loginChallenge.create({ data: { nonce, email, expiresAt } });
  }

  /** Marks the nonce used if it was issued for this email, is unused and unexpired; one caller wins. */
  async consume(nonce: string, email: string, now: Date): Promise<boolean> {
    const { count } = await this.prisma.loginChallenge.updateMany({
      where: { nonce, email, usedAt: null, expiresAt: { gt: now } },
      data: { usedAt: now },
    });
    return count === 1;
  }
}
