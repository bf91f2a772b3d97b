import { Module } from '@nestjs/common';
import { AuthModule } from '../../auth/auth.module.js';
import { sessionPolicy } from '../../sessions/session-policy.js';
import { SessionsModule } from '../../sessions/sessions.module.js';
import { MAX_SERVICE_TOKEN_TTL } from './dto/service-token.dto.js';
import { PasswordStrategy } from './password.strategy.js';
import { ServiceAccountController } from './service-account.controller.js';

/** The Redis Enterprise-style service-account API: email and password over HTTP Basic. */
@Module({
  imports: [SessionsModule, AuthModule],
  controllers: [ServiceAccountController],
  providers: [
    PasswordStrategy,
    // Its sessions are bound to it and hold access tokens only, each as long as the client asks, up
    // to a day; the client authenticates with its password, so it is confidential.
    sessionPolicy(() => ({ clientId: 'service', accessTtl: MAX_SERVICE_TOKEN_TTL, refreshTtl: 0, publicClient: false })),
  ],
})
export class ServiceAccountModule {}
