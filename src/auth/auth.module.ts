import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { TokensModule } from '../tokens/tokens.module.js';
import { UsersModule } from '../users/users.module.js';
import { FibSessionController } from './fib-session.controller.js';
import { EmailSignatureStrategy } from './strategies/email-signature.strategy.js';

@Module({
  imports: [PassportModule, UsersModule, TokensModule],
  controllers: [FibSessionController],
  providers: [EmailSignatureStrategy],
})
export class AuthModule {}
