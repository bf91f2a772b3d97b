import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { MeController } from './me.controller.js';

/** A signed-in user's own sessions. */
@Module({
  imports: [SessionsModule, AuthModule],
  controllers: [MeController],
})
export class MeModule {}
