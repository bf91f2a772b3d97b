import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiConsumes, ApiOperation, ApiResponse, ApiTags } from '../../http/openapi-decorators.js';
import { ENVELOPE_STATUS_TABLE } from '../../http/envelope-status-table.js';
import { ApiAccessToken, ApiEnvelopeCommonErrors, ApiEnvelopeError, EXAMPLE_UUID, schemaOf } from '../../http/openapi.js';
import { ApiStatusTable } from '../../http/status-table.js';
import { IntrospectDto } from './dto/introspect.dto.js';
import { INTROSPECTING_ROLES, IntrospectionCallerGuard } from './introspection-caller.guard.js';
import { Roles } from '../../auth/roles.decorator.js';
import { SessionsService } from '../../sessions/sessions.service.js';
import { SmallBody } from '../../http/request-body.js';

export type IntrospectionResponse =
  | { active: false }
  | { active: true; sub: string; acc?: string; role?: string; exp: number; iat: number; jti: string; iss: string; aud: string; token_use: string; client_id: string; cnf?: { jkt: string } };

const ACTIVE_EXAMPLE: IntrospectionResponse = {
  active: true,
  sub: 'alice@wonderland.space',
  acc: 'alice@wonderland',
  role: 'ROLE_PEER',
  exp: 1767225900,
  iat: 1767225600,
  jti: EXAMPLE_UUID,
  iss: 'sigauth',
  aud: 'sigauth',
  token_use: 'access',
  client_id: 'fib',
};

/** RFC 7662 token introspection for services and admins; the answer reflects revocation. */
@ApiTags('Tokens')
@ApiStatusTable(ENVELOPE_STATUS_TABLE)
@Controller('auth/api/v1/token')
export class IntrospectionController {
  constructor(private readonly sessions: SessionsService) {}

  @Post('introspect')
  @HttpCode(200)
  @SmallBody()
  @UseGuards(IntrospectionCallerGuard)
  @Roles(...INTROSPECTING_ROLES)
  @ApiOperation({
    summary: 'Introspect a token (RFC 7662)',
    description:
      'For ROLE_SERVICE and ROLE_ADMIN callers, with an access token or, as OAuth clients do, with client authentication ' +
      '(`client_secret_basic`: HTTP Basic with the account\'s form-urlencoded email and password; `private_key_jwt`: `client_assertion` in the body). ' +
      'Answers `{ active: false }` for a token that is invalid, expired or whose session has ended; ' +
      '`acc` and `role` are present for access tokens only; `cnf` (RFC 9449) for the tokens of a DPoP-bound session.',
  })
  @ApiConsumes('application/json', 'application/x-www-form-urlencoded')
  @ApiResponse({
    status: 200,
    description: 'Whether the token is live, and its claims when it is',
    schema: { ...schemaOf(ACTIVE_EXAMPLE), required: ['active'] },
    examples: { active: { summary: 'a live access token', value: ACTIVE_EXAMPLE }, inactive: { summary: 'any other token', value: { active: false } } },
  })
  @ApiAccessToken('ROLE_SERVICE', 'ROLE_ADMIN')
  @ApiEnvelopeError(422, 'ArgumentNotValid', 'token must be longer than or equal to 1 characters', 'body missing, extra or mistyped fields')
  @ApiEnvelopeCommonErrors({ body: true })
  async introspect(@Body() body: IntrospectDto): Promise<IntrospectionResponse> {
    const claims = await this.sessions.introspect(body.token);
    if (!claims) return { active: false };
    const { sub, exp, iat, jti, iss, aud, token_use, client_id, cnf } = claims;
    const common = { active: true as const, sub, exp, iat, jti, iss, aud, token_use, client_id, ...(cnf ? { cnf } : {}) };
    return claims.token_use === 'access' ? { ...common, acc: claims.acc, role: claims.role } : common;
  }
}
