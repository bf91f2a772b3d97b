import { Controller, Get, Header, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { RequestError } from '../../common/domain-error.js';
import { ApiOperation, ApiTags } from '../../http/openapi-decorators.js';
import { ENVELOPE_STATUS_TABLE } from '../../http/envelope-status-table.js';
import { ApiEnvelopeCommonErrors, ApiEnvelopeError, ApiJsonResponse } from '../../http/openapi.js';
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

const WELL_KNOWN = '/.well-known/oauth-authorization-server';

/**
 * RFC 8414 discovery. There is no `/.well-known/openid-configuration`: sigauth is no OpenID
 * Provider (no ID tokens, no authorization endpoint, no RS256), and OpenID Connect Discovery
 * requires members it could only fill with lies; openid-client finds it with `algorithm: 'oauth2'`.
 */
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

  @Get('oauth-authorization-server/*')
  @Header('Cache-Control', 'public, max-age=300')
  @ApiOperation({
    summary: 'Authorization server metadata at the issuer\'s path (RFC 8414 section 3.1)',
    description: 'With a path in PUBLIC_URL or JWT_ISSUER (`https://example.com/auth`), the metadata is also at `/.well-known/oauth-authorization-server/auth`; any other path is 404.',
  })
  @ApiJsonResponse(200, 'The metadata', EXAMPLE)
  @ApiEnvelopeError(404, 'NotFound', 'no such route', 'the path is not the path of PUBLIC_URL or of JWT_ISSUER')
  @ApiEnvelopeCommonErrors()
  authorizationServerAtPath(@Req() request: FastifyRequest): AuthorizationServerMetadata {
    const path = request.url.split('?')[0]!.slice(WELL_KNOWN.length);
    if (!this.metadata.issuerPaths.includes(path)) throw new RequestError('ROUTE_NOT_FOUND', 'no such route');
    return this.metadata.document;
  }
}
