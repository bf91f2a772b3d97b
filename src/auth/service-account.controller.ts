import { Body, Controller, Headers, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { ApiBasicAuth, ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { tokenFromAuthorization } from '../common/authorization-header.js';
import { ApiJsonResponse, ApiRedisCommonErrors, ApiRedisError, EXAMPLE_ACCESS_TOKEN, SECURITY } from '../common/openapi.js';
import { RateLimit } from '../rate-limit/rate-limit.guard.js';
import { TokenError } from '../tokens/token.errors.js';
import { serviceTokenTtl, ServiceTokenDto } from './dto/service-token.dto.js';
import { LoginGuard, type LoginRequest } from './login.guard.js';
import { ServiceAccountService } from './service-account.service.js';

const TOKEN_EXAMPLE = { access_token: EXAMPLE_ACCESS_TOKEN };

/** Both routes take the same optional body. */
const TTL_BODY = { type: ServiceTokenDto, required: false, description: 'Optional: the token lifetime in seconds (default 300).' };
const PASSWORD_EXPIRED = ['password_expired', 'The password has expired and must be changed.', "the account's password has expired"] as const;

/** The Redis Enterprise-style service-account API (DESIGN section 6); errors are `{ error_code, message }`. */
@ApiTags('Service accounts')
@ApiRedisCommonErrors()
@Controller('v1/users')
export class ServiceAccountController {
  constructor(private readonly serviceAccounts: ServiceAccountService) {}

  @Post('authorize')
  @HttpCode(200)
  @UseGuards(LoginGuard('password'))
  @ApiOperation({
    summary: 'Get a token with an email and password',
    description: 'HTTP Basic with the account email and password. An unknown user and a wrong password get the same answer in similar time.',
  })
  @ApiBasicAuth(SECURITY.basic)
  @ApiBody(TTL_BODY)
  @ApiJsonResponse(200, 'An access token for the account', TOKEN_EXAMPLE)
  @ApiRedisError(401, 'unauthorized', 'Unauthorized', 'missing or malformed credentials, an unknown user or a wrong password')
  @ApiRedisError(401, ...PASSWORD_EXPIRED)
  async authorize(@Req() request: LoginRequest): Promise<{ access_token: string }> {
    const ttl = await serviceTokenTtl(request.body);
    const token = await this.serviceAccounts.authorize(request.user, ttl);
    return { access_token: token.token };
  }

  @Post('refresh_jwt')
  @HttpCode(200)
  @UseGuards(RateLimit('refresh'))
  @ApiOperation({
    summary: 'Exchange a live token for a new one',
    description: 'Send the token as `Authorization: JWT <token>` (`Bearer <token>` is also accepted). Only tokens of a password login can be refreshed.',
  })
  @ApiBearerAuth(SECURITY.bearer)
  @ApiBody(TTL_BODY)
  @ApiJsonResponse(200, 'A new access token', TOKEN_EXAMPLE)
  @ApiRedisError(401, 'unauthorized', 'token has expired', 'the token is missing, invalid, expired, revoked or not from a password login')
  @ApiRedisError(401, ...PASSWORD_EXPIRED)
  async refreshJwt(@Headers('authorization') authorization: string | undefined, @Body() body: unknown): Promise<{ access_token: string }> {
    const ttl = await serviceTokenTtl(body);
    const token = tokenFromAuthorization(authorization);
    if (!token) throw new TokenError('MISSING_TOKEN', 'Authorization: JWT <token> is required');
    return { access_token: (await this.serviceAccounts.refresh(token, ttl)).token };
  }
}
