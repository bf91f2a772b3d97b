import { Module } from '@nestjs/common';
import { JwksController } from './jwks.controller.js';
import { SigningKeyRepository } from './signing-key.repository.js';
import { SigningKeysService } from './signing-keys.service.js';
import { TokenService } from './token.service.js';

/** Signing keys (stored, sealed, rotated), JWT issue and verification, and the JWKS that publishes them. */
@Module({
  controllers: [JwksController],
  providers: [SigningKeyRepository, SigningKeysService, TokenService],
  exports: [SigningKeysService, TokenService],
})
export class TokensModule {}
