import { Module } from '@nestjs/common';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsersModule } from '../users/users.module.js';
import { AccountsService } from './accounts.service.js';

/** Account changes that end the sessions depending on them: for the admin API and the command line alike. */
@Module({
  imports: [UsersModule, SessionsModule],
  providers: [AccountsService],
  exports: [AccountsService],
})
export class AccountsModule {}
