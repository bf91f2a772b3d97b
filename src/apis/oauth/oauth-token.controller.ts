import { Controller, Header, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { ApiBasicAuth, ApiBody, ApiConsumes, ApiHeader, ApiOperation, ApiTags } from '../../http/openapi-decorators.js';
import type { FastifyRequest } from 'fastify';
import { ApiJsonResponse, EXAMPLE_ACCESS_TOKEN, EXAMPLE_REFRESH_TOKEN, SECURITY } from '../../http/openapi.js';
import { ApiStatusTable } from '../../http/status-table.js';
import { ClientAuthentication, type AuthenticatedClient } from '../../auth/client-authentication.js';
import { formBody, formParam, requiredFormParam } from './form-body.js';
import { OAuthMetadata } from './oauth-metadata.js';
import { OAUTH_STATUS_TABLE } from './oauth-status-table.js';
import { OAuthError } from './oauth.errors.js';
import { ApiOAuthCommonErrors, ApiOAuthError, formSchema } from './oauth.openapi.js';
import { SESSION_POLICY, type SessionPolicy } from '../../sessions/session-policy.js';
import { SessionsService, type TokenPair } from '../../sessions/sessions.service.js';
import { SmallBody } from '../../http/request-body.js';
import type { RefreshClaims } from '../../tokens/token.types.js';

/** RFC 6749 section 5.1. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer' | 'DPoP';
  expires_in: number;
  refresh_token: string;
}

const TOKEN_EXAMPLE: TokenResponse = { access_token: EXAMPLE_ACCESS_TOKEN, token_type: 'DPoP', expires_in: 300, refresh_token: EXAMPLE_REFRESH_TOKEN };
const GRANTS = ['client_credentials', 'refresh_token'] as const;
const CLIENT_ROLES: readonly string[] = ['ROLE_SERVICE', 'ROLE_ADMIN'];

function tokenResponse(pair: TokenPair): TokenResponse {
  return { access_token: pair.accessToken, token_type: pair.tokenType, expires_in: pair.accessTtl, refresh_token: pair.refreshToken };
}

/**
 * The OAuth 2 token endpoint (RFC 6749 section 3.2): an adapter over the session core for service
 * accounts as OAuth clients. `client_credentials` opens a session for the authenticated client,
 * `refresh_token` rotates one it opened. Its sessions are bound to the client (`client_id` is the
 * account's email) and, with a DPoP proof, to the proof's key.
 */
@ApiTags('OAuth')
@ApiStatusTable(OAUTH_STATUS_TABLE)
@Controller('oauth')
export class OAuthTokenController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly clients: ClientAuthentication,
    private readonly metadata: OAuthMetadata,
    @Inject(SESSION_POLICY) private readonly lifetimes: Omit<SessionPolicy, 'clientId'>,
  ) {}

  @Post('token')
  @HttpCode(200)
  @SmallBody()
  @Header('Cache-Control', 'no-store')
  @Header('Pragma', 'no-cache')
  @ApiOperation({
    summary: 'Get tokens as an OAuth client (RFC 6749)',
    description:
      'For service accounts (ROLE_SERVICE or ROLE_ADMIN). Client authentication: `client_secret_basic` (HTTP Basic with the form-urlencoded email and password) ' +
      'or `private_key_jwt` (RFC 7523: `client_assertion` signed with EdDSA by one of the account\'s Ed25519 keys, `typ` absent or `JWT`, `aud` the issuer or this endpoint, ' +
      '`exp` at most an hour ahead, `iat` not in the future, `jti` used once). The client id is the account\'s email, in any case: sessions carry its normalized form. With a `DPoP` proof header (RFC 9449) the tokens are bound to its key and `token_type` is `DPoP`; ' +
      'a bound session is refreshed only with a proof by the same key.',
  })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBasicAuth(SECURITY.basic)
  @ApiHeader({ name: 'DPoP', required: false, description: 'A DPoP proof JWT (EdDSA or ES256) for POST and this URL' })
  @ApiBody({
    schema: formSchema(
      {
        grant_type: { type: 'string', enum: [...GRANTS] },
        refresh_token: { type: 'string', description: 'For grant_type=refresh_token' },
        client_assertion_type: { type: 'string', enum: ['urn:ietf:params:oauth:client-assertion-type:jwt-bearer'] },
        client_assertion: { type: 'string' },
        client_id: { type: 'string', description: 'The account\'s email; optional' },
      },
      ['grant_type'],
    ),
  })
  @ApiJsonResponse(200, 'An access token and a refresh token (RFC 6749 section 5.1)', TOKEN_EXAMPLE)
  @ApiOAuthError(400, 'invalid_grant', 'refresh token was already used; the session has been revoked', 'the refresh token is invalid, expired, reused, revoked, of another client, or of a DPoP-bound session without a proof by its key')
  @ApiOAuthError(400, 'unsupported_grant_type', 'grant_type password is not supported', 'a grant other than client_credentials and refresh_token')
  @ApiOAuthError(400, 'unauthorized_client', 'the client may not use this grant', 'the account is not a service account (ROLE_SERVICE or ROLE_ADMIN)')
  @ApiOAuthError(400, 'invalid_scope', 'scopes are not supported', 'a scope was requested: sigauth has none')
  @ApiOAuthError(400, 'invalid_dpop_proof', 'the DPoP proof was already used', 'the DPoP proof is malformed, for another method or URL, too old, signed with another algorithm, or replayed')
  @ApiOAuthCommonErrors()
  async token(@Req() request: FastifyRequest): Promise<TokenResponse> {
    const body = formBody(request);
    const grantType = requiredFormParam(body, 'grant_type');
    if (!(GRANTS as readonly string[]).includes(grantType)) throw new OAuthError('UNSUPPORTED_GRANT_TYPE', `grant_type ${grantType.slice(0, 64)} is not supported`);
    if (formParam(body, 'scope') !== undefined) throw new OAuthError('INVALID_SCOPE', 'scopes are not supported');
    const refreshToken = grantType === 'refresh_token' ? requiredFormParam(body, 'refresh_token') : undefined;
    let verified: RefreshClaims | undefined;
    const client = await this.clients.authenticate(request, this.metadata.assertionAudiences('token'), {
      dpop: true,
      // Checked before the DPoP proof's and the client assertion's jti are spent: a forged refresh token costs the client nothing.
      admit: async (login) => {
        if (!CLIENT_ROLES.includes(login.principal.role)) throw new OAuthError('UNAUTHORIZED_CLIENT', 'the client may not use this grant: it is not a service account');
        if (refreshToken !== undefined) verified = await this.sessions.verifiedRefreshToken(refreshToken);
      },
    });
    const policy = this.policyFor(client);
    const { possession } = client;
    const pair = refreshToken === undefined ? await this.sessions.open(client, policy, possession) : await this.sessions.rotate({ kind: 'refresh', refreshToken, verified }, policy, possession);
    return tokenResponse(pair);
  }

  /** A client's sessions are its own: another client's refresh token is refused (invalid_grant). */
  private policyFor(client: AuthenticatedClient): SessionPolicy {
    return { clientId: client.clientId, accessTtl: this.lifetimes.accessTtl, refreshTtl: this.lifetimes.refreshTtl };
  }
}
