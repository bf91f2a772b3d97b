import { Module } from '@nestjs/common';
import { AuthModule } from '../../auth/auth.module.js';
import { sessionPolicy } from '../../sessions/session-policy.js';
import { SessionsModule } from '../../sessions/sessions.module.js';
import { DiscoveryController } from './discovery.controller.js';
import { IntrospectionCallerGuard } from './introspection-caller.guard.js';
import { IntrospectionController } from './introspection.controller.js';
import { OAuthMetadata } from './oauth-metadata.js';
import { OAuthTokenController } from './oauth-token.controller.js';
import { RevocationController } from './revocation.controller.js';

/**
 * The OAuth 2 wire, whole: the token endpoint (service accounts as OAuth clients), introspection
 * (RFC 7662), revocation (RFC 7009) and discovery (RFC 8414), with their form bodies, errors and
 * status table, over the session core and the login pipeline's client authentication.
 */
@Module({
  imports: [SessionsModule, AuthModule],
  controllers: [OAuthTokenController, IntrospectionController, RevocationController, DiscoveryController],
  providers: [
    OAuthMetadata,
    IntrospectionCallerGuard,
    // Every service account is a client of its own (its id is its email), confidential: it authenticates.
    sessionPolicy((c) => ({ accessTtl: c.ACCESS_TOKEN_TTL, refreshTtl: c.REFRESH_TOKEN_TTL, publicClient: false })),
  ],
})
export class OAuthModule {}
