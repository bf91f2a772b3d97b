import { Module } from '@nestjs/common';
import { AuthModule } from '../../auth/auth.module.js';
import { SessionsModule } from '../../sessions/sessions.module.js';
import { PasswordStrategy } from './password.strategy.js';
import { ServiceAccountController } from './service-account.controller.js';

/** The Redis Enterprise-style service-account API: email and password over HTTP Basic. */
@Module({
  imports: [SessionsModule, AuthModule],
  controllers: [ServiceAccountController],
  providers: [PasswordStrategy],
})
export class ServiceAccountModule {}
