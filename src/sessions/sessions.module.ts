import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module.js';
import { AccessTokenGuard } from './access-token.guard.js';
import { DpopService } from './dpop/dpop.service.js';
import { OneTimeIdsRepository } from './one-time-ids.repository.js';
import { SessionLivenessCache } from './session-liveness.cache.js';
import { SessionRepository } from './session.repository.js';
import { SessionsService } from './sessions.service.js';
import { TokensModule } from '../tokens/tokens.module.js';

/** The session core that every login API is an adapter over (DESIGN section 1). */
@Module({
  imports: [UsersModule, TokensModule],
  providers: [SessionRepository, SessionLivenessCache, SessionsService, AccessTokenGuard, OneTimeIdsRepository, DpopService],
  exports: [TokensModule, SessionsService, AccessTokenGuard, OneTimeIdsRepository, DpopService, SessionRepository],
})
export class SessionsModule {}
