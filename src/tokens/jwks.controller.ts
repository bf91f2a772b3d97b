import { Controller, Get, Header } from '@nestjs/common';
import { SigningKeysService, type PublicJwk } from './signing-keys.service.js';

@Controller('.well-known')
export class JwksController {
  constructor(private readonly keys: SigningKeysService) {}

  /** Cacheable for five minutes; verifiers refetch early when they meet an unknown kid. */
  @Get('jwks.json')
  @Header('Cache-Control', 'public, max-age=300')
  jwks(): Promise<{ keys: PublicJwk[] }> {
    return this.keys.jwks();
  }
}
