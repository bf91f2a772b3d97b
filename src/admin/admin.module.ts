import { Module } from '@nestjs/common';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsersModule } from '../users/users.module.js';
import { AccountsService } from './accounts.service.js';
import { AdminController } from './admin.controller.js';
import { MeController } from './me.controller.js';

@Module({
  imports: [UsersModule, SessionsModule],
  controllers: [AdminController, MeController],
  providers: [AccountsService],
  exports: [AccountsService],
})
export class AdminModule {}
