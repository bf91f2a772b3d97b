import { Module } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { TokensModule } from '../tokens/tokens.module.js';
import { UsersModule } from '../users/users.module.js';
import { FibSessionController } from './fib-session.controller.js';
import { LoginAuthenticator } from './login-authenticator.js';
import { LoginChallengeRepository } from './login-challenge.repository.js';
import { LoginChallengeService } from './login-challenge.service.js';
import { ServiceAccountController } from './service-account.controller.js';
import { ServiceAccountService } from './service-account.service.js';
import { PasswordStrategy } from './strategies/password.strategy.js';
import { EmailSignatureStrategy } from './strategies/email-signature.strategy.js';
import { WalletSignatureStrategy } from './strategies/wallet-signature.strategy.js';
import { WalletLoginReplayRepository } from './wallet-login-replay.repository.js';
import { WalletSessionController } from './wallet-session.controller.js';

@Module({
  imports: [UsersModule, TokensModule],
  controllers: [FibSessionController, WalletSessionController, ServiceAccountController],
  providers: [Clock, LoginAuthenticator, LoginChallengeRepository, LoginChallengeService, EmailSignatureStrategy, PasswordStrategy, ServiceAccountService, WalletSignatureStrategy, WalletLoginReplayRepository],
})
export class AuthModule {}
