import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { RequestError } from '../../common/domain-error.js';
import { AccessTokenGuard } from '../../auth/access-token.guard.js';
import { AuthenticationError } from '../../sessions/authentication.errors.js';
import { ClientAuthentication } from '../../auth/client-authentication.js';
import type { VerifiedLogin } from '../../sessions/verified-login.js';
import { assertRole } from '../../auth/roles.decorator.js';
import { OAuthMetadata } from './oauth-metadata.js';

/** The roles that may introspect. */
export const INTROSPECTING_ROLES = ['ROLE_SERVICE', 'ROLE_ADMIN'] as const;

/**
 * Who may ask introspection (RFC 7662 section 2.1 requires the caller to be authorized): a caller with an access token of ROLE_SERVICE or
 * ROLE_ADMIN, or, as OAuth clients do, such an account authenticating as a client
 * (`client_secret_basic`, `private_key_jwt`). A refused client is 401 Unauthorized here, whatever
 * the reason, as a refused token is.
 */
@Injectable()
export class IntrospectionCallerGuard implements CanActivate {
  constructor(
    private readonly accessTokens: AccessTokenGuard,
    private readonly clients: ClientAuthentication,
    private readonly metadata: OAuthMetadata,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (!this.clients.presented(request)) return this.accessTokens.canActivate(context);
    const admit = (login: VerifiedLogin) => assertRole(INTROSPECTING_ROLES, login.principal.role);
    try {
      await this.clients.authenticate(request, this.metadata.assertionAudiences('introspection'), { admit });
    } catch (error) {
      if (error instanceof AuthenticationError) throw new RequestError('UNAUTHENTICATED', `client authentication failed: ${error.message}`);
      throw error;
    }
    return true;
  }
}
