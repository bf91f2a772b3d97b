import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiTags } from '../../http/openapi-decorators.js';
import { ENVELOPE_STATUS_TABLE } from '../../http/envelope-status-table.js';
import { ApiEnvelopeCommonErrors, ApiJsonResponse } from '../../http/openapi.js';
import { ApiStatusTable } from '../../http/status-table.js';
import { OAuthMetadata, type AuthorizationServerMetadata } from './oauth-metadata.js';

const EXAMPLE: AuthorizationServerMetadata = {
  issuer: 'https://auth.example.org',
  jwks_uri: 'https://auth.example.org/.well-known/jwks.json',
  token_endpoint: 'https://auth.example.org/oauth/token',
  introspection_endpoint: 'https://auth.example.org/auth/api/v1/token/introspect',
  revocation_endpoint: 'https://auth.example.org/oauth/revoke',
  grant_types_supported: ['client_credentials', 'refresh_token'],
  response_types_supported: [],
  token_endpoint_auth_methods_supported: ['client_secret_basic', 'private_key_jwt'],
  token_endpoint_auth_signing_alg_values_supported: ['EdDSA', 'Ed25519'],
  introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'private_key_jwt'],
  introspection_endpoint_auth_signing_alg_values_supported: ['EdDSA', 'Ed25519'],
  revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'private_key_jwt', 'none'],
  revocation_endpoint_auth_signing_alg_values_supported: ['EdDSA', 'Ed25519'],
  dpop_signing_alg_values_supported: ['EdDSA', 'Ed25519', 'ES256'],
  service_documentation: 'https://auth.example.org/docs',
};

/** RFC 8414 discovery: the same metadata at both well-known names, so OAuth and OpenID clients alike find it. */
@ApiTags('OAuth')
@ApiStatusTable(ENVELOPE_STATUS_TABLE)
@Controller('.well-known')
export class DiscoveryController {
  constructor(private readonly metadata: OAuthMetadata) {}

  @Get('oauth-authorization-server')
  @Header('Cache-Control', 'public, max-age=300')
  @ApiOperation({ summary: 'Authorization server metadata (RFC 8414)', description: 'Endpoints from PUBLIC_URL; `issuer` is JWT_ISSUER, which defaults to PUBLIC_URL.' })
  @ApiJsonResponse(200, 'The metadata', EXAMPLE)
  @ApiEnvelopeCommonErrors()
  authorizationServer(): AuthorizationServerMetadata {
    return this.metadata.document;
  }

  @Get('openid-configuration')
  @Header('Cache-Control', 'public, max-age=300')
  @ApiOperation({ summary: 'The same metadata at the OpenID Connect discovery name', description: 'sigauth issues no ID tokens: this is for clients that only look here.' })
  @ApiJsonResponse(200, 'The metadata', EXAMPLE)
  @ApiEnvelopeCommonErrors()
  openidConfiguration(): AuthorizationServerMetadata {
    return this.metadata.document;
  }
}
