import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { SessionsService } from '../tokens/sessions.service.js';
import { TokenError } from '../tokens/token.errors.js';
import type { IssuedToken } from '../tokens/token.types.js';
import { UsersService } from '../users/users.service.js';
import { AuthError } from './auth.errors.js';
import type { AuthenticatedLogin } from './authenticated-login.js';

/** Service-account tokens: access tokens only, each authorize a session, refresh_jwt extending it. */
@Injectable()
export class ServiceAccountService {
  constructor(
    private readonly sessions: SessionsService,
    private readonly users: UsersService,
    private readonly clock: Clock,
  ) {}

  authorize(login: AuthenticatedLogin, ttlSeconds: number): Promise<IssuedToken> {
    return this.sessions.startAccessOnly(login.principal, login.credential, ttlSeconds);
  }

  /** A live token of a password session whose password is still valid buys a new one. */
  async refresh(accessToken: string, ttlSeconds: number): Promise<IssuedToken> {
    const { session } = await this.sessions.authenticateSession(accessToken);
    if (session.credentialKind !== 'PASSWORD') throw new TokenError('INVALID_TOKEN', 'only service-account tokens can be refreshed here');
    const login = await this.users.findPasswordLogin({ id: session.userId });
    if (!login) throw new TokenError('INVALID_TOKEN', 'session has ended');
    if (login.passwordExpiresAt && login.passwordExpiresAt.getTime() <= this.clock.now()) {
      throw new AuthError('PASSWORD_EXPIRED', 'The password has expired and must be changed.');
    }
    return this.sessions.reissueAccess(session.id, login.principal, ttlSeconds);
  }
}
