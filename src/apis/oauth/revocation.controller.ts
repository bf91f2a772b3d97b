import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiHeader, ApiOperation, ApiTags } from '../../http/openapi-decorators.js';
import { ApiJsonResponse } from '../../http/openapi.js';
import type { FastifyRequest } from 'fastify';
import { ApiStatusTable } from '../../http/status-table.js';
import { AuthenticationError } from '../../sessions/authentication.errors.js';
import { DpopError } from '../../sessions/dpop.errors.js';
import { DpopService } from '../../auth/dpop/dpop.service.js';
import { ClientAuthentication } from '../../auth/client-authentication.js';
import { SessionsService } from '../../sessions/sessions.service.js';
import { TokenClients } from '../../tokens/token-clients.js';
import { formBody, requiredFormParam } from './form-body.js';
import { OAuthMetadata } from './oauth-metadata.js';
import { OAUTH_STATUS_TABLE } from './oauth-status-table.js';
import { OAuthError } from './oauth.errors.js';
import { ApiOAuthCommonErrors, ApiOAuthError, formSchema } from './oauth.openapi.js';
import { SmallBody } from '../../http/request-body.js';

const BOUND_TOKEN = 'the token is bound to a DPoP key: revoke it with a DPoP proof signed by that key';

/**
 * RFC 7009 token revocation: a refresh or access token of a session ends that session.
 *
 * A DPoP-bound token of a public client's session is revoked only with a DPoP proof by its key;
 * without one the answer is 400 invalid_dpop_proof and the session stays live. RFC 7009 section
 * 2.2's 200 is for tokens that are invalid, and a live bound token is not: section 2.1 has the
 * server check that the token was issued to the requester and refuse with an error when it was
 * not, and for a bound token the requester is whoever holds its key (RFC 9449 section 1). A silent
 * 200 would also tell an honest client that forgot its proof that the session ended while it
 * lives on. The refusal tells a thief nothing new: the refresh routes already refuse the token
 * alone, and an access token shows its `cnf` to anyone who reads it. A confidential client's
 * session is revoked with that client's authentication, as before, proof or not.
 */
@ApiTags('OAuth')
@ApiStatusTable(OAUTH_STATUS_TABLE)
@Controller('oauth')
export class RevocationController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly clients: ClientAuthentication,
    private readonly metadata: OAuthMetadata,
    private readonly dpop: DpopService,
    private readonly tokenClients: TokenClients,
  ) {}

  @Post('revoke')
  @HttpCode(200)
  @SmallBody()
  @ApiOperation({
    summary: 'Revoke a token (RFC 7009)',
    description:
      'Ends the session of a refresh or access token of this service. A user\'s own token (FIB, Ethereum) is revoked by whoever holds it; ' +
      'a service account\'s needs that account\'s client authentication (`client_secret_basic` or `private_key_jwt`). ' +
      'A public client\'s DPoP-bound token needs a `DPoP` proof (RFC 9449) by the key it is bound to. ' +
      'Unknown, expired and foreign tokens also get 200, as RFC 7009 requires.',
  })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({ schema: formSchema({ token: { type: 'string' }, token_type_hint: { type: 'string', enum: ['access_token', 'refresh_token'] } }, ['token']) })
  @ApiJsonResponse(200, 'The token is revoked, or was not a live token of this service (the body is empty JSON; RFC 7009 clients ignore it)', {})
  @ApiHeader({ name: 'DPoP', required: false, description: 'A DPoP proof JWT (EdDSA or ES256) for POST and this URL, by the key a bound token is bound to' })
  @ApiOAuthError(400, 'unauthorized_client', 'the token was not issued to this client', 'the client authenticated, but the token belongs to another account')
  @ApiOAuthError(400, 'invalid_dpop_proof', BOUND_TOKEN, "a public client's DPoP-bound token without a proof by its key, or a DPoP proof that is malformed, for another method or URL, too old or replayed")
  @ApiOAuthCommonErrors()
  async revoke(@Req() request: FastifyRequest): Promise<Record<string, never>> {
    const token = requiredFormParam(formBody(request), 'token');
    const proof = await this.dpop.check(request);
    const client = this.clients.presented(request) ? await this.clients.authenticate(request, this.metadata.assertionAudiences('revocation')) : undefined;
    const session = await this.sessions.sessionOfToken(token);
    if (!session || session.revokedAt) return {};
    // A public client's token (RFC 6749 section 2.1: the user's own device) is revoked by whoever
    // holds it; a confidential client's session only by that client, authenticated.
    if (!this.tokenClients.isPublic(session.clientId)) {
      if (!client) throw new AuthenticationError('INVALID_PROOF', 'a service account\'s token is revoked with that account\'s client authentication');
      if (client.principal.userId !== session.userId) throw new OAuthError('UNAUTHORIZED_CLIENT', 'the token was not issued to this client');
    } else if (session.dpopJkt !== null && session.dpopJkt !== proof.jkt) {
      throw new DpopError('INVALID_DPOP_PROOF', BOUND_TOKEN);
    }
    await proof.spend();
    await this.sessions.end(session, 'revoked (RFC 7009)', client?.clientId ?? 'token holder');
    return {};
  }
}
