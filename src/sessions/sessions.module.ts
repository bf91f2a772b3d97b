import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module.js';
import { SessionCleanupRepository } from './session-cleanup.repository.js';
import { SessionEndings } from './session-endings.js';
import { SessionLivenessCache } from './session-liveness.cache.js';
import { SessionRepository } from './session.repository.js';
import { SessionsService } from './sessions.service.js';
import { TokensModule } from '../tokens/tokens.module.js';

/** The session core every login API is an adapter over: sessions, rotation, revocation, principal liveness, introspection. */
@Module({
  imports: [UsersModule, TokensModule],
  providers: [SessionRepository, SessionEndings, SessionCleanupRepository, SessionLivenessCache, SessionsService],
  exports: [TokensModule, SessionsService, SessionRepository, SessionCleanupRepository],
})
export class SessionsModule {}
