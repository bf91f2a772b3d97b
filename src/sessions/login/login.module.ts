import { Module } from '@nestjs/common';
import { RateLimitModule } from '../../rate-limit/rate-limit.module.js';
import { UsersModule } from '../../users/users.module.js';
import { SessionsModule } from '../sessions.module.js';
import { ClientAuthentication } from './client-authentication.js';
import { LoginAttempts } from './login-attempts.service.js';
import { LoginRules } from './login-rules.js';
import { PasswordLogins } from './password-logins.js';

/**
 * What every login API shares before a session opens: budgets and the audit of failures
 * (LoginAttempts, run by LoginGuard), the rules written once (LoginRules), the password proof,
 * OAuth client authentication (ClientAuthentication).
 * Apart from SessionsModule so that the command line, which logs nobody in, needs no limiter.
 */
@Module({
  imports: [UsersModule, RateLimitModule, SessionsModule],
  providers: [LoginAttempts, LoginRules, PasswordLogins, ClientAuthentication],
  exports: [LoginAttempts, LoginRules, PasswordLogins, ClientAuthentication],
})
export class LoginModule {}
