import { Module } from '@nestjs/common';
import { SessionsModule } from '../sessions/sessions.module.js';
import { RetentionCleanup } from './retention-cleanup.js';

/** The retention cleanup: the server runs it, the command line does not. */
@Module({
  imports: [SessionsModule],
  providers: [RetentionCleanup],
  exports: [RetentionCleanup],
})
export class RetentionModule {}
