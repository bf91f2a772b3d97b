import { Module } from '@nestjs/common';
import { JwksController } from './jwks.controller.js';
import { SigningKeyRepository } from './signing-key.repository.js';
import { SigningKeysService } from './signing-keys.service.js';
import { TokenClients } from './token-clients.js';
import { TokenService } from './token.service.js';

/** Signing keys (stored, sealed, rotated), JWT issue and verification, the JWKS that publishes them, and the clients tokens are issued to. */
@Module({
  controllers: [JwksController],
  providers: [SigningKeyRepository, SigningKeysService, TokenService, TokenClients],
  exports: [SigningKeysService, TokenService, TokenClients],
})
export class TokensModule {}
