import { Module } from '@nestjs/common';
import { AuthModule } from '../../auth/auth.module.js';
import { OAuthEndpointsModule } from '../../sessions/oauth/oauth-endpoints.module.js';
import { SessionsModule } from '../../sessions/sessions.module.js';
import { OAuthTokenController } from './oauth-token.controller.js';

/** The OAuth 2 token endpoint (DESIGN section 4): service accounts as OAuth clients. */
@Module({
  imports: [SessionsModule, AuthModule, OAuthEndpointsModule],
  controllers: [OAuthTokenController],
})
export class OAuthModule {}
