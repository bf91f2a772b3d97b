import { Body, Controller, Headers, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { tokenFromAuthorization } from '../common/authorization-header.js';
import { RateLimit } from '../rate-limit/rate-limit.guard.js';
import { TokenError } from '../tokens/token.errors.js';
import { serviceTokenTtl } from './dto/service-token.dto.js';
import { LoginGuard, type LoginRequest } from './login.guard.js';
import { ServiceAccountService } from './service-account.service.js';

/** The Redis Enterprise-style service-account API (DESIGN section 6); errors are `{ error_code, message }`. */
@Controller('v1/users')
export class ServiceAccountController {
  constructor(private readonly serviceAccounts: ServiceAccountService) {}

  @Post('authorize')
  @HttpCode(200)
  @UseGuards(LoginGuard('password'))
  async authorize(@Req() request: LoginRequest): Promise<{ access_token: string }> {
    const ttl = await serviceTokenTtl(request.body);
    const token = await this.serviceAccounts.authorize(request.user, { ip: request.ip, userAgent: request.headers['user-agent'] ?? null }, ttl);
    return { access_token: token.token };
  }

  @Post('refresh_jwt')
  @HttpCode(200)
  @UseGuards(RateLimit('refresh'))
  async refreshJwt(@Headers('authorization') authorization: string | undefined, @Body() body: unknown): Promise<{ access_token: string }> {
    const ttl = await serviceTokenTtl(body);
    const token = tokenFromAuthorization(authorization);
    if (!token) throw new TokenError('MISSING_TOKEN', 'Authorization: JWT <token> is required');
    return { access_token: (await this.serviceAccounts.refresh(token, ttl)).token };
  }
}
