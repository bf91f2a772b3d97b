import { Module } from '@nestjs/common';
import { AuthModule } from '../../auth/auth.module.js';
import { SessionsModule } from '../../sessions/sessions.module.js';
import { SESSION_POLICY, type SessionPolicy } from '../../sessions/sessions.service.js';
import { AppConfig } from '../../config/app-config.js';
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
    // FIB sessions live ACCESS_TOKEN_TTL and REFRESH_TOKEN_TTL (DESIGN section 3).
    { provide: SESSION_POLICY, inject: [AppConfig], useFactory: (c: AppConfig): SessionPolicy => ({ clientId: 'fib', accessTtl: c.ACCESS_TOKEN_TTL, refreshTtl: c.REFRESH_TOKEN_TTL }) },
  ],
})
export class FibModule {}
