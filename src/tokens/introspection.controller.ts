import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { AccessTokenGuard } from './access-token.guard.js';
import { IntrospectDto } from './dto/introspect.dto.js';
import { Roles } from './roles.decorator.js';
import { SessionsService } from './sessions.service.js';

export type IntrospectionResponse =
  | { active: false }
  | { active: true; sub: string; acc?: string; role?: string; exp: number; iat: number; jti: string; iss: string; aud: string; token_use: string };

/** RFC 7662 token introspection for services and admins; the answer reflects revocation. */
@Controller('auth/api/v1/token')
export class IntrospectionController {
  constructor(private readonly sessions: SessionsService) {}

  @Post('introspect')
  @HttpCode(200)
  @UseGuards(AccessTokenGuard)
  @Roles('ROLE_SERVICE', 'ROLE_ADMIN')
  async introspect(@Body() body: IntrospectDto): Promise<IntrospectionResponse> {
    const claims = await this.sessions.introspect(body.token);
    if (!claims) return { active: false };
    const { sub, exp, iat, jti, iss, aud, token_use } = claims;
    const common = { active: true as const, sub, exp, iat, jti, iss, aud, token_use };
    return claims.token_use === 'access' ? { ...common, acc: claims.acc, role: claims.role } : common;
  }
}
