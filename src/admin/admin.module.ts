import { Module } from '@nestjs/common';
import { TokensModule } from '../tokens/tokens.module.js';
import { UsersModule } from '../users/users.module.js';
import { AccountsService } from './accounts.service.js';

@Module({
  imports: [UsersModule, TokensModule],
  providers: [AccountsService],
  exports: [AccountsService],
})
export class AdminModule {}
