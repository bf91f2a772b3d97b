import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { AppConfig } from '../config/app-config.js';
import { AuthenticationError, passwordExpired } from '../sessions/authentication.errors.js';

/** The rules every login API applies alike, written once. */
@Injectable()
export class LoginRules {
  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /**
   * No active principal is what the login claims. By default the APIs say so (404, as the FIB API
   * specifies); with HIDE_USER_EXISTENCE the answer is the one a bad proof gets, so it tells a
   * caller nothing about which identities have accounts. The caller does the same work either way.
   */
  unknownPrincipal(invalidProofMessage: string): AuthenticationError {
    return this.config.HIDE_USER_EXISTENCE
      ? new AuthenticationError('INVALID_PROOF', invalidProofMessage)
      : new AuthenticationError('UNKNOWN_PRINCIPAL', 'User not found.');
  }

  /** A credential past its expiry (a password) opens no session and renews none. */
  assertUnexpired(expiresAt: Date | null): void {
    if (expiresAt && expiresAt.getTime() <= this.clock.now()) throw passwordExpired();
  }
}
