import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiTags } from '../http/openapi-decorators.js';
import { ENVELOPE_STATUS_TABLE } from '../http/envelope-status-table.js';
import { ApiEnvelopeCommonErrors, ApiJsonResponse } from '../http/openapi.js';
import { ApiStatusTable } from '../http/status-table.js';
import { SigningKeysService, type PublicJwk } from './signing-keys.service.js';

const JWKS_EXAMPLE: { keys: PublicJwk[] } = {
  keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'f77bMUqbDADK75Z6xcq7mC7EXagooMWKmq_IVPMkIqw', kid: '4s48QtXP8b0zfKReN-f4B28n7ZlOGS-vM49pboaoJUI', use: 'sig', alg: 'EdDSA' }],
};

@ApiTags('Tokens')
@ApiStatusTable(ENVELOPE_STATUS_TABLE)
@Controller('.well-known')
export class JwksController {
  constructor(private readonly keys: SigningKeysService) {}

  /** Cacheable for five minutes; verifiers refetch early when they meet an unknown kid. */
  @Get('jwks.json')
  @Header('Cache-Control', 'public, max-age=300')
  @ApiOperation({
    summary: 'The public keys that verify this service\'s tokens (JWKS)',
    description: 'Ed25519 keys by `kid`; retired keys stay listed until every token they signed has expired. Cacheable for five minutes.',
  })
  @ApiJsonResponse(200, 'The key set', JWKS_EXAMPLE)
  @ApiEnvelopeCommonErrors()
  jwks(): Promise<{ keys: PublicJwk[] }> {
    return this.keys.jwks();
  }
}
