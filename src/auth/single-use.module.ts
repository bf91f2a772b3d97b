import { Module } from '@nestjs/common';
import { SingleUseStore } from './single-use.repository.js';

/** The one single-use store, apart from the login pipeline so that the retention cleanup can purge it without loading budgets and strategies. */
@Module({
  providers: [SingleUseStore],
  exports: [SingleUseStore],
})
export class SingleUseModule {}
