import { Module } from '@nestjs/common';
import { SingleUseModule } from '../auth/single-use.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { RetentionCleanup } from './retention-cleanup.js';

/** The retention cleanup: the server runs it, the command line does not. */
@Module({
  imports: [SessionsModule, SingleUseModule],
  providers: [RetentionCleanup],
  exports: [RetentionCleanup],
})
export class RetentionModule {}
