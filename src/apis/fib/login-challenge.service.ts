import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock.js';
import { RequestError } from '../../common/domain-error.js';
import { AppConfig } from '../../config/app-config.js';
import { SingleUseStore } from '../../auth/single-use.repository.js';
import { normalizeEmail } from '../../users/email.js';

/** A nonce lives this long: long enough for a client to sign, short enough to be useless when stolen. */
export const CHALLENGE_TTL_MS = 60_000;

const FIB_CHALLENGE = 'fib-challenge';

/**
 * Challenge login: a static FIB signature over an email logs in forever once leaked; a signature
 * over `<nonce>:<email>` with a single-use, 60-second nonce logs in once.
 */
@Injectable()
export class LoginChallengeService {
  constructor(
    private readonly singleUse: SingleUseStore,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /** Issued for any well-formed email, known or not, so the answer reveals nothing. */
  async issue(email: string): Promise<{ nonce: string; expiresAt: number }> {
    if (this.config.LOGIN_CHALLENGE === 'off') throw new RequestError('ROUTE_NOT_FOUND', 'challenge login is turned off');
    const nonce = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const expiresAt = now + CHALLENGE_TTL_MS;
    await this.singleUse.issue(FIB_CHALLENGE, nonce, new Date(expiresAt), new Date(now), normalizeEmail(email));
    return { nonce, expiresAt };
  }

  /** Spends the nonce if it was issued for this email, is unused and unexpired; of two racing logins, one wins. */
  consume(nonce: string, email: string): Promise<boolean> {
    return this.singleUse.consume(FIB_CHALLENGE, nonce, new Date(this.clock.now()), normalizeEmail(email));
  }
}
