import { applyDecorators, Body, Controller, Headers, Inject, Post, Req } from '@nestjs/common';
import { ApiBasicAuth, ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '../../http/openapi-decorators.js';
import { ApiJsonResponse, EXAMPLE_ACCESS_TOKEN, SECURITY } from '../../http/openapi.js';
import { ApiStatusTable } from '../../http/status-table.js';
import { RateLimitedRoute } from '../../rate-limit/rate-limit.guard.js';
import { LoginRoute, type LoginRequest } from '../../auth/login.guard.js';
import { presentedToken } from '../../sessions/presented-token.js';
import { SESSION_POLICY, type SessionPolicy } from '../../sessions/session-policy.js';
import { SessionsService } from '../../sessions/sessions.service.js';
import { serviceTokenTtl, ServiceTokenDto } from './dto/service-token.dto.js';
import { SERVICE_ACCOUNT_STATUS_TABLE } from './service-account-status-table.js';
import { ApiRedisCommonErrors, ApiRedisError } from './service-account.openapi.js';

const TOKEN_EXAMPLE = { access_token: EXAMPLE_ACCESS_TOKEN };

/** Both routes take the same optional body. */
const TTL_BODY = { type: ServiceTokenDto, required: false, description: 'Optional: the token lifetime in seconds (default 300).' };
const PASSWORD_EXPIRED = ['password_expired', 'The password has expired and must be changed.', "the account's password has expired"] as const;

/**
 * What both routes document alike: their operation, how the caller authenticates, the optional ttl
 * body, the token they answer, and their two 401 rows (the refused caller, the expired password).
 */
function ApiTokenOperation(operation: { summary: string; description: string }, security: MethodDecorator, answer: string, unauthorized: readonly [message: string, when: string]): MethodDecorator {
  // In the order stacked decorators apply (bottom up), so the document lists them as before.
  return applyDecorators(
    ApiRedisError(401, ...PASSWORD_EXPIRED) as MethodDecorator,
    ApiRedisError(401, 'unauthorized', ...unauthorized) as MethodDecorator,
    ApiJsonResponse(200, answer, TOKEN_EXAMPLE) as MethodDecorator,
    ApiBody(TTL_BODY) as MethodDecorator,
    security,
    ApiOperation(operation) as MethodDecorator,
  );
}

/** The Redis Enterprise-style service-account API: an adapter over the session core. */
@ApiTags('Service accounts')
@ApiRedisCommonErrors()
@ApiStatusTable(SERVICE_ACCOUNT_STATUS_TABLE)
@Controller('v1/users')
export class ServiceAccountController {
  constructor(
    private readonly sessions: SessionsService,
    // The sessions this API opens are bound to it: access tokens only, each authorize a session.
    @Inject(SESSION_POLICY) private readonly policy: SessionPolicy,
  ) {}

  @LoginRoute('authorize', 'service-account')
  @ApiTokenOperation(
    { summary: 'Get a token with an email and password', description: 'HTTP Basic with the account email and password. An unknown user and a wrong password get the same answer in similar time.' },
    ApiBasicAuth(SECURITY.basic),
    'An access token for the account',
    ['Unauthorized', 'missing or malformed credentials, an unknown user or a wrong password'],
  )
  async authorize(@Req() request: LoginRequest): Promise<{ access_token: string }> {
    const ttl = await serviceTokenTtl(request.body);
    return { access_token: (await this.sessions.openAccessOnly(request.user, this.policy.clientId, ttl)).token };
  }

  @RateLimitedRoute(Post, 'refresh_jwt', 'refresh')
  @ApiTokenOperation(
    {
      summary: 'Exchange a live token for a new one',
      description: 'Send the token as `Authorization: JWT <token>` (`Bearer <token>` is also accepted). Only tokens of this API (a password login) can be refreshed here.',
    },
    ApiBearerAuth(SECURITY.bearer),
    'A new access token',
    ['token has expired', 'the token is missing, invalid, expired, revoked or not from a password login'],
  )
  async refreshJwt(@Headers('authorization') authorization: string | undefined, @Body() body: unknown): Promise<{ access_token: string }> {
    const ttl = await serviceTokenTtl(body);
    const accessToken = presentedToken(authorization, 'Authorization: JWT <token> is required');
    return { access_token: (await this.sessions.rotate({ kind: 'service', accessToken, ttl }, this.policy)).token };
  }
}
