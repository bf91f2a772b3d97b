import { Module } from '@nestjs/common';
import { RateLimitModule } from '../../rate-limit/rate-limit.module.js';
import { UsersModule } from '../../users/users.module.js';
import { LoginAttempts } from './login-attempts.service.js';
import { LoginRules } from './login-rules.js';
import { PasswordLogins } from './password-logins.js';

/**
 * What every login API shares before a session opens: budgets and the audit of failures
 * (LoginAttempts, run by LoginGuard), the rules written once (LoginRules), the password proof.
 * Apart from SessionsModule so that the command line, which logs nobody in, needs no limiter.
 */
@Module({
  imports: [UsersModule, RateLimitModule],
  providers: [LoginAttempts, LoginRules, PasswordLogins],
  exports: [LoginAttempts, LoginRules, PasswordLogins],
})
export class LoginModule {}
