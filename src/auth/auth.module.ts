import { Module } from '@nestjs/common';
import { RateLimitModule } from '../rate-limit/rate-limit.module.js';
import { UsersModule } from '../users/users.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { ClientAuthentication } from './client-authentication.js';
import { LoginAttempts } from './login-attempts.service.js';
import { LoginRules } from './login-rules.js';
import { PasswordLogins } from './password-logins.js';
import { AccessTokenGuard } from './access-token.guard.js';
import { DpopService } from './dpop/dpop.service.js';
import { SingleUseModule } from './single-use.module.js';

/**
 * The login pipeline every adapter runs before a session opens: budgets and the audit of failures
 * (LoginAttempts, run by LoginGuard), the rules written once (LoginRules), the password proof,
 * client authentication (ClientAuthentication), DPoP proofs, the single-use records they spend;
 * and the guard of the routes that take an access token. Apart from SessionsModule so that the
 * command line, which logs nobody in, needs no limiter.
 */
@Module({
  imports: [UsersModule, RateLimitModule, SessionsModule, SingleUseModule],
  providers: [LoginAttempts, LoginRules, PasswordLogins, ClientAuthentication, DpopService, AccessTokenGuard],
  exports: [LoginAttempts, LoginRules, PasswordLogins, ClientAuthentication, DpopService, SingleUseModule, AccessTokenGuard],
})
export class AuthModule {}
