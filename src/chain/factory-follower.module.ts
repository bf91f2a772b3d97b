import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module.js';
import { ChainModule } from './chain.module.js';
import { FactoryFollower } from './factory-follower.js';

/** Following the Factory contract: the server runs it, the command line does not. */
@Module({
  imports: [ChainModule, UsersModule],
  providers: [FactoryFollower],
  exports: [FactoryFollower],
})
export class FactoryFollowerModule {}
