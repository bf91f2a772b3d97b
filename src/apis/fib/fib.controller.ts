import { applyDecorators, Body, Controller, HttpCode, Inject, Patch, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiSecurity, ApiTags } from '../../http/openapi-decorators.js';
import type { FastifyRequest } from 'fastify';
import { ok, type Envelope } from '../../http/envelope.js';
import { ApiDpopProof, ApiEnvelopeCommonErrors, ApiEnvelopeError, ApiEnvelopeOk, EXAMPLE_ACCESS_TOKEN, EXAMPLE_REFRESH_TOKEN, LOGGED_IN, REFRESHED, SECURITY } from '../../http/openapi.js';
import { ApiStatusTable } from '../../http/status-table.js';
import { RateLimitedRoute } from '../../rate-limit/rate-limit.guard.js';
import { SignatureLoginRoute, type LoginRequest } from '../../auth/login.guard.js';
import { presentedAuthorization, presentedToken, tokenPairBody, type TokenPairBody } from '../../sessions/presented-token.js';
import { DpopService } from '../../auth/dpop/dpop.service.js';
import { SESSION_POLICY, type SessionPolicy } from '../../sessions/session-policy.js';
import { SessionsService, type TokenPair } from '../../sessions/sessions.service.js';
import { claimedEmailKey } from '../../users/email.js';
import { ChallengeDto, FibLoginDto } from './dto/fib-login.dto.js';
import { FIB_STATUS_TABLE } from './fib-status-table.js';
import { LoginChallengeService } from './login-challenge.service.js';
import { claimedField } from '../../http/request-body.js';

export interface FibTokens extends TokenPairBody {
  /** The access token's lifetime in seconds. */
  expirationTime: number;
}

const TOKENS_EXAMPLE: FibTokens = {
  accessToken: EXAMPLE_ACCESS_TOKEN,
  refreshToken: EXAMPLE_REFRESH_TOKEN,
  expirationTime: 300,
  accessExpiryAt: 1767225900000,
  refreshExpiryAt: 1767312000000,
};

function fibTokens(pair: TokenPair): FibTokens {
  return { ...tokenPairBody(pair), expirationTime: pair.accessTtl };
}

/** The 422 ArgumentNotValid row of the two routes whose body carries an email. */
const MALFORMED_EMAIL_BODY = ['ArgumentNotValid', 'email must be an address of at most 254 characters', 'body not a JSON object, missing, extra or mistyped fields, malformed email'] as const;

/** PATCH /session and POST /logout read a token from the header: bare, as FIB clients send it, or Bearer; 422 without one. */
function ApiTokenHeader(which: 'refresh' | 'access'): MethodDecorator {
  return applyDecorators(
    ApiSecurity(SECURITY.token),
    ApiBearerAuth(SECURITY.bearer),
    ApiEnvelopeError(401, 'InvalidToken', 'token has expired', `the ${which} token is expired, malformed, revoked${which === 'refresh' ? ', already used, of another API' : ''} or of the wrong kind`),
    ApiEnvelopeError(422, 'ArgumentNotValid', 'Authorization header with a token is required', 'the Authorization header is missing or empty'),
  );
}

function challengeIdentity(request: FastifyRequest): string | undefined {
  return claimedEmailKey(claimedField(request.body, 'email'));
}

/** The FIB session API: an adapter over the session core. */
@ApiTags('FIB session')
@ApiStatusTable(FIB_STATUS_TABLE)
@Controller('auth/api/v1/authentication-management')
export class FibController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly challenges: LoginChallengeService,
    private readonly dpop: DpopService,
    @Inject(SESSION_POLICY) private readonly policy: SessionPolicy,
  ) {}

  @SignatureLoginRoute(
    'session',
    'fib',
    {
      summary: 'Log in with an Ed25519 signature of the email',
      description:
        'Sign the Iroha hash of the UTF-8 email (BLAKE2b-256 with the lowest bit of its last byte set; the plain digest is also accepted) ' +
        'with a key the user holds, or, for a challenge login, of `<nonce>:<email>` with a nonce from POST .../challenge. ' +
        'With `HIDE_USER_EXISTENCE=true` the 404 becomes a 401 InvalidSignature.',
    },
    {
      body: FibLoginDto,
      example: TOKENS_EXAMPLE,
      invalidSignature: 'well-formed, but the key is not an active key of the user or the signature does not verify',
      userNotFound: 'well-formed, no active user with that email',
    },
    ApiEnvelopeError(401, 'ChallengeRequired', 'A challenge is required: sign <nonce>:<email> with a nonce from POST .../challenge.', 'LOGIN_CHALLENGE=required and no nonce was sent'),
    ApiEnvelopeError(401, 'InvalidChallenge', 'The challenge is unknown, expired or already used.', 'the nonce is unknown, expired, already used or issued for another email'),
    ApiEnvelopeError(422, ...MALFORMED_EMAIL_BODY),
    ApiEnvelopeError(422, 'SignatureDecodeError', 'signature must be exactly 128 hex digits', 'the signature is not 128 hex digits'),
    ApiEnvelopeError(422, 'InvalidPublicKey', 'public key must be exactly 64 hex digits', 'the key is not 64 hex digits, not a valid Ed25519 point, or of small order'),
  )
  async login(@Req() request: LoginRequest): Promise<Envelope<FibTokens>> {
    return ok(LOGGED_IN, fibTokens(await this.sessions.open(request.user, this.policy, request.possession)));
  }

  /** A single-use nonce for a challenge login, answered alike whether or not the email has an account. */
  @RateLimitedRoute(Post, 'challenge', 'challenge', challengeIdentity)
  @ApiOperation({
    summary: 'Get a single-use nonce for a challenge login',
    description: 'The nonce (random, 256 bits) is valid for 60 s and for one login of this email. The answer is the same whether or not the email has an account.',
  })
  @ApiEnvelopeOk('Challenge issued.', { nonce: 'q3Jd0r8m2ZkGm3yqkE7n1cYbq5o9wX2mHfT0eVb6sLw', expiresAt: 1767225660000 }, { description: 'A nonce and its expiry (epoch milliseconds)' })
  @ApiEnvelopeError(404, 'NotFound', 'challenge login is turned off', 'LOGIN_CHALLENGE=off')
  @ApiEnvelopeError(422, ...MALFORMED_EMAIL_BODY)
  @ApiEnvelopeCommonErrors({ body: true, rateLimited: true })
  async challenge(@Body() body: ChallengeDto): Promise<Envelope<{ nonce: string; expiresAt: number }>> {
    return ok('Challenge issued.', await this.challenges.issue(body.email));
  }

  @RateLimitedRoute(Patch, 'session', 'refresh')
  @ApiOperation({
    summary: 'Refresh the token pair',
    description:
      'Send the refresh token as `Authorization: <refreshToken>` (or `Bearer <refreshToken>`). It is retired; presenting it again revokes the whole session, ' +
      'except within REFRESH_REUSE_GRACE seconds, which answers the same pair again. Only refresh tokens of FIB logins are accepted here.',
  })
  @ApiEnvelopeOk(REFRESHED, TOKENS_EXAMPLE, { description: 'A new token pair for the same session' })
  @ApiTokenHeader('refresh')
  @ApiEnvelopeCommonErrors({ body: true, rateLimited: true })
  @ApiDpopProof('a bound session refreshes only with a proof by its key')
  async refresh(@Req() request: FastifyRequest): Promise<Envelope<FibTokens>> {
    const refreshToken = presentedToken(request.headers.authorization);
    const pair = await this.sessions.rotate({ kind: 'refresh', refreshToken }, this.policy, await this.dpop.check(request));
    return ok(REFRESHED, fibTokens(pair));
  }

  @Post('logout')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Log out',
    description: 'Send the access token as `Authorization: <accessToken>` (or Bearer). Ends the session: its refresh tokens stop working and the access token is refused from then on.',
  })
  @ApiEnvelopeOk('User has been logged out.', {}, { description: 'The session has ended' })
  @ApiTokenHeader('access')
  @ApiEnvelopeCommonErrors({ body: true })
  @ApiDpopProof('a bound access token needs a proof by its key, with `ath`, and `Authorization: DPoP`')
  async logout(@Req() request: FastifyRequest): Promise<Envelope<Record<string, never>>> {
    const presented = presentedAuthorization(request.headers.authorization);
    await this.sessions.logout(presented, await this.dpop.check(request, presented.token));
    return ok('User has been logged out.', {});
  }
}
