import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module.js';
import { AccessTokenGuard } from './access-token.guard.js';
import { IntrospectionController } from './introspection.controller.js';
import { JwksController } from './jwks.controller.js';
import { SessionLivenessCache } from './session-liveness.cache.js';
import { SessionRepository } from './session.repository.js';
import { SessionsService } from './sessions.service.js';
import { SigningKeyRepository } from './signing-key.repository.js';
import { SigningKeysService } from './signing-keys.service.js';
import { TokenService } from './token.service.js';

/** The session core that every login API is an adapter over (DESIGN section 1). */
@Module({
  imports: [UsersModule],
  controllers: [JwksController, IntrospectionController],
  providers: [SigningKeyRepository, SigningKeysService, TokenService, SessionRepository, SessionLivenessCache, SessionsService, AccessTokenGuard],
  exports: [SigningKeysService, TokenService, SessionsService, AccessTokenGuard],
})
export class SessionsModule {}
