import { applyDecorators, Body, Controller, Headers, HttpCode, Patch, Post, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { tokenFromAuthorization } from '../common/authorization-header.js';
import { ApiEnvelopeCommonErrors, ApiEnvelopeError, ApiEnvelopeOk, EXAMPLE_ACCESS_TOKEN, EXAMPLE_REFRESH_TOKEN, SECURITY } from '../common/openapi.js';
import { RateLimit } from '../rate-limit/rate-limit.guard.js';
import { SessionsService, type TokenPair } from '../tokens/sessions.service.js';
import { TokenError } from '../tokens/token.errors.js';
import { TokenService } from '../tokens/token.service.js';
import { claimedEmailKey } from '../users/email.js';
import { ChallengeDto, FibLoginDto } from './dto/fib-login.dto.js';
import { ok, type Envelope } from './envelope.js';
import { LoginChallengeService } from './login-challenge.service.js';
import { LoginGuard, type LoginRequest } from './login.guard.js';

export interface FibTokens {
  accessToken: string;
  refreshToken: string;
  /** The access token's lifetime in seconds. */
  expirationTime: number;
  accessExpiryAt: number;
  refreshExpiryAt: number;
}

const TOKENS_EXAMPLE: FibTokens = {
  accessToken: EXAMPLE_ACCESS_TOKEN,
  refreshToken: EXAMPLE_REFRESH_TOKEN,
  expirationTime: 300,
  accessExpiryAt: 1767225900000,
  refreshExpiryAt: 1767312000000,
};

/** The 422 ArgumentNotValid row of the two routes whose body carries an email. */
const MALFORMED_EMAIL_BODY = ['ArgumentNotValid', 'email must be an address of at most 254 characters', 'body not a JSON object, missing, extra or mistyped fields, malformed email'] as const;

/** PATCH /session and POST /logout read a token from the header: bare, as FIB clients send it, or Bearer; 422 without one. */
function ApiTokenHeader(which: 'refresh' | 'access'): MethodDecorator {
  return applyDecorators(
    ApiSecurity(SECURITY.token),
    ApiBearerAuth(SECURITY.bearer),
    ApiEnvelopeError(401, 'InvalidToken', 'token has expired', `the ${which} token is expired, malformed, revoked${which === 'refresh' ? ', already used' : ''} or of the wrong kind`),
    ApiEnvelopeError(422, 'ArgumentNotValid', 'Authorization header with a token is required', 'the Authorization header is missing or empty'),
  );
}

function challengeIdentity(request: FastifyRequest): string | undefined {
  return claimedEmailKey((request.body as { email?: unknown } | undefined)?.email);
}

function requireToken(header: string | undefined): string {
  const token = tokenFromAuthorization(header);
  if (!token) throw new TokenError('MISSING_TOKEN', 'Authorization header with a token is required');
  return token;
}

/** The FIB session API (DESIGN section 3). */
@ApiTags('FIB session')
@Controller('auth/api/v1/authentication-management')
export class FibSessionController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly tokens: TokenService,
    private readonly challenges: LoginChallengeService,
  ) {}

  private envelope(message: string, pair: TokenPair): Envelope<FibTokens> {
    return ok(message, {
      accessToken: pair.accessToken,
      refreshToken: pair.refreshToken,
      expirationTime: pair.accessTtl,
      accessExpiryAt: pair.accessExp * 1000,
      refreshExpiryAt: pair.refreshExp * 1000,
    });
  }

  @Post('session')
  @HttpCode(200)
  @UseGuards(LoginGuard('email-signature'))
  @ApiOperation({
    summary: 'Log in with an Ed25519 signature of the email',
    description:
      'Sign the Iroha hash of the UTF-8 email (BLAKE2b-256 with the lowest bit of its last byte set; the plain digest is also accepted) ' +
      'with a key the user holds, or, for a challenge login, of `<nonce>:<email>` with a nonce from POST .../challenge. ' +
      'With `HIDE_USER_EXISTENCE=true` the 404 becomes a 401 InvalidSignature.',
  })
  @ApiBody({ type: FibLoginDto })
  @ApiEnvelopeOk('User authorization has been successful.', TOKENS_EXAMPLE, { description: 'Logged in: a new session and its token pair' })
  @ApiEnvelopeError(401, 'InvalidSignature', 'Signature is not valid.', 'well-formed, but the key is not an active key of the user or the signature does not verify')
  @ApiEnvelopeError(401, 'ChallengeRequired', 'A challenge is required: sign <nonce>:<email> with a nonce from POST .../challenge.', 'LOGIN_CHALLENGE=required and no nonce was sent')
  @ApiEnvelopeError(401, 'InvalidChallenge', 'The challenge is unknown, expired or already used.', 'the nonce is unknown, expired, already used or issued for another email')
  @ApiEnvelopeError(404, 'UserNotFound', 'User not found.', 'well-formed, no active user with that email')
  @ApiEnvelopeError(422, ...MALFORMED_EMAIL_BODY)
  @ApiEnvelopeError(422, 'SignatureDecodeError', 'signature must be exactly 128 hex digits', 'the signature is not 128 hex digits')
  @ApiEnvelopeError(422, 'InvalidPublicKey', 'public key must be exactly 64 hex digits', 'the key is not 64 hex digits, not a valid Ed25519 point, or of small order')
  @ApiEnvelopeCommonErrors({ body: true, rateLimited: true })
  async login(@Req() request: LoginRequest): Promise<Envelope<FibTokens>> {
    const { principal, credential } = request.user;
    const pair = await this.sessions.start(principal, credential);
    return this.envelope('User authorization has been successful.', pair);
  }

  /** A single-use nonce for a challenge login, answered alike whether or not the email has an account. */
  @Post('challenge')
  @HttpCode(200)
  @UseGuards(RateLimit('challenge', challengeIdentity))
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

  @Patch('session')
  @HttpCode(200)
  @UseGuards(RateLimit('refresh'))
  @ApiOperation({
    summary: 'Refresh the token pair',
    description: 'Send the refresh token as `Authorization: <refreshToken>` (or `Bearer <refreshToken>`). It is retired; presenting it again revokes the whole session.',
  })
  @ApiEnvelopeOk('Tokens have been refreshed.', TOKENS_EXAMPLE, { description: 'A new token pair for the same session' })
  @ApiTokenHeader('refresh')
  @ApiEnvelopeCommonErrors({ body: true, rateLimited: true })
  async refresh(@Headers('authorization') authorization: string | undefined): Promise<Envelope<FibTokens>> {
    const claims = await this.tokens.verifyRefresh(requireToken(authorization));
    return this.envelope('Tokens have been refreshed.', await this.sessions.refresh(claims));
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
  async logout(@Headers('authorization') authorization: string | undefined): Promise<Envelope<Record<string, never>>> {
    await this.sessions.logout(requireToken(authorization));
    return ok('User has been logged out.', {});
  }
}
