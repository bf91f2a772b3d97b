import { Module } from '@nestjs/common';
import { IntrospectionController } from '../introspection.controller.js';
import { AuthModule } from '../../auth/auth.module.js';
import { SessionsModule } from '../sessions.module.js';
import { DiscoveryController } from './discovery.controller.js';
import { IntrospectionCallerGuard } from './introspection-caller.guard.js';
import { OAuthMetadata } from './oauth-metadata.js';
import { RevocationController } from './revocation.controller.js';

/**
 * The session core's standard endpoints that take client authentication: introspection (RFC
 * 7662), revocation (RFC 7009) and discovery (RFC 8414). Apart from SessionsModule, which the
 * command line uses without the login machinery these need.
 */
@Module({
  imports: [SessionsModule, AuthModule],
  controllers: [IntrospectionController, RevocationController, DiscoveryController],
  providers: [OAuthMetadata, IntrospectionCallerGuard],
  exports: [OAuthMetadata],
})
export class OAuthEndpointsModule {}
