import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiTags } from '../../http/openapi-decorators.js';
import { ApiJsonResponse } from '../../http/openapi.js';
import type { FastifyRequest } from 'fastify';
import { ApiStatusTable } from '../../http/status-table.js';
import { AuthenticationError } from '../authentication.errors.js';
import { ClientAuthentication } from '../login/client-authentication.js';
import { SessionsService } from '../sessions.service.js';
import { formBody, requiredFormParam } from './form-body.js';
import { OAuthMetadata } from './oauth-metadata.js';
import { OAUTH_STATUS_TABLE } from './oauth-status-table.js';
import { OAuthError } from './oauth.errors.js';
import { ApiOAuthCommonErrors, ApiOAuthError, formSchema } from './oauth.openapi.js';
import { SmallBody } from '../../http/request-body.js';

/**
 * The APIs whose clients are the users' own devices (public clients, RFC 6749 section 2.1): their
 * tokens are revoked by whoever holds them. Any other session (a service account's) was opened by
 * a confidential client, which must authenticate to revoke it.
 */
const PUBLIC_CLIENTS: ReadonlySet<string> = new Set(['fib', 'wallet']);

/** RFC 7009 token revocation: a refresh or access token of a session ends that session. */
@ApiTags('OAuth')
@ApiStatusTable(OAUTH_STATUS_TABLE)
@Controller('oauth')
export class RevocationController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly clients: ClientAuthentication,
    private readonly metadata: OAuthMetadata,
  ) {}

  @Post('revoke')
  @HttpCode(200)
  @SmallBody()
  @ApiOperation({
    summary: 'Revoke a token (RFC 7009)',
    description:
      'Ends the session of a refresh or access token of this service. A user\'s own token (FIB, Ethereum) is revoked by whoever holds it; ' +
      'a service account\'s needs that account\'s client authentication (`client_secret_basic` or `private_key_jwt`). ' +
      'Unknown, expired and foreign tokens also get 200, as RFC 7009 requires.',
  })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({ schema: formSchema({ token: { type: 'string' }, token_type_hint: { type: 'string', enum: ['access_token', 'refresh_token'] } }, ['token']) })
  @ApiJsonResponse(200, 'The token is revoked, or was not a live token of this service (the body is empty JSON; RFC 7009 clients ignore it)', {})
  @ApiOAuthError(400, 'unauthorized_client', 'the token was not issued to this client', 'the client authenticated, but the token belongs to another account')
  @ApiOAuthCommonErrors()
  async revoke(@Req() request: FastifyRequest): Promise<Record<string, never>> {
    const token = requiredFormParam(formBody(request), 'token');
    const client = this.clients.presented(request) ? await this.clients.authenticate(request, this.metadata.assertionAudiences('revocation')) : undefined;
    const session = await this.sessions.sessionOfToken(token);
    if (!session || session.revokedAt) return {};
    if (!PUBLIC_CLIENTS.has(session.clientId)) {
      if (!client) throw new AuthenticationError('INVALID_PROOF', 'a service account\'s token is revoked with that account\'s client authentication');
      if (client.principal.userId !== session.userId) throw new OAuthError('UNAUTHORIZED_CLIENT', 'the token was not issued to this client');
    }
    await this.sessions.end(session, 'revoked (RFC 7009)', client?.clientId ?? 'token holder');
    return {};
  }
}
