import { Module } from '@nestjs/common';
import { AuthModule } from '../../auth/auth.module.js';
import { SessionsModule } from '../../sessions/sessions.module.js';
import { sessionPolicy } from '../../sessions/session-policy.js';
import { UsersModule } from '../../users/users.module.js';
import { EmailSignatureStrategy } from './email-signature.strategy.js';
import { FibController } from './fib.controller.js';
import { LoginChallengeService } from './login-challenge.service.js';

/** The FIB session API: Ed25519 signatures of the email. */
@Module({
  imports: [UsersModule, SessionsModule, AuthModule],
  controllers: [FibController],
  providers: [
    EmailSignatureStrategy,
    LoginChallengeService,
    // A user's own device is a public client: whoever holds its token may revoke it.
    sessionPolicy((c) => ({ clientId: 'fib', accessTtl: c.ACCESS_TOKEN_TTL, refreshTtl: c.REFRESH_TOKEN_TTL, publicClient: true })),
  ],
})
export class FibModule {}
