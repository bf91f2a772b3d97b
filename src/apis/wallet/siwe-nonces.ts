import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AtMostEvery } from '../../common/at-most-every.js';
import { Clock } from '../../common/clock.js';
import { PrismaService } from '../../database/prisma.service.js';

/** A nonce lives this long (DESIGN section 5). */
export const SIWE_NONCE_TTL_MS = 5 * 60 * 1000;

/** The SIWE nonces sigauth issued (table siwe_nonces), shared by every instance through the database. */
@Injectable()
export class SiweNonceRepository {
  /** An expired nonce logs nobody in; once a minute the expired ones go. */
  private readonly purge = new AtMostEvery(60_000);

  constructor(private readonly prisma: PrismaService) {}

  async insert(nonce: string, expiresAt: Date, now: Date): Promise<void> {
    if (this.purge.due(now.getTime())) await this.prisma.siweNonce.deleteMany({ where: { expiresAt: { lt: now } } });
    await this.prisma.siweNonce.create({ data: { nonce, expiresAt } });
  }

  /** Marks an issued, unexpired, unused nonce used; false for any other. Of two logins racing, one wins. */
  async use(nonce: string, now: Date): Promise<boolean> {
    const rows = await this.prisma.connection.query(
      'UPDATE siwe_nonces SET used_at = $2 WHERE nonce = $1 AND used_at IS NULL AND expires_at > $2 RETURNING nonce',
      [nonce, now],
      'use-siwe-nonce',
    );
    return rows.length === 1;
  }
}

/** Single-use nonces for Sign-In with Ethereum: the server's half of the binding the timestamp login lacks. */
@Injectable()
export class SiweNonces {
  constructor(
    private readonly nonces: SiweNonceRepository,
    private readonly clock: Clock,
  ) {}

  /** 128 random bits as 32 hex digits: EIP-4361 wants at least 8 letters or digits. */
  async issue(): Promise<{ nonce: string; expiresAt: number }> {
    const nonce = randomBytes(16).toString('hex');
    const now = this.clock.now();
    const expiresAt = now + SIWE_NONCE_TTL_MS;
    await this.nonces.insert(nonce, new Date(expiresAt), new Date(now));
    return { nonce, expiresAt };
  }

  consume(nonce: string): Promise<boolean> {
    return this.nonces.use(nonce, new Date(this.clock.now()));
  }
}
