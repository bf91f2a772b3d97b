import { Body, Controller, Inject, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '../../http/openapi-decorators.js';
import { ok, type Envelope } from '../../http/envelope.js';
import { ApiDpopProof, ApiEnvelopeCommonErrors, ApiEnvelopeError, ApiEnvelopeOk, LOGGED_IN, REFRESHED } from '../../http/openapi.js';
import { ApiStatusTable } from '../../http/status-table.js';
import { RateLimitedRoute } from '../../rate-limit/rate-limit.guard.js';
import { SignatureLoginRoute, type LoginRequest } from '../../auth/login.guard.js';
import { tokenPairBody, type TokenPairBody } from '../../sessions/presented-token.js';
import type { FastifyRequest } from 'fastify';
import { DpopService } from '../../auth/dpop/dpop.service.js';
import { SESSION_POLICY, type SessionPolicy } from '../../sessions/session-policy.js';
import { SessionsService } from '../../sessions/sessions.service.js';
import { WalletLoginDto, WalletRefreshDto } from './dto/wallet-login.dto.js';
import { WALLET_STATUS_TABLE } from './wallet-status-table.js';
import { ApiContractWalletUnavailable, TOKENS_EXAMPLE } from './wallet.openapi.js';

/** The Ethereum wallet API: an adapter over the session core. */
@ApiTags('Ethereum wallet')
@ApiStatusTable(WALLET_STATUS_TABLE)
@Controller('api/auth')
export class WalletController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly dpop: DpopService,
    @Inject(SESSION_POLICY) private readonly policy: SessionPolicy,
  ) {}

  @SignatureLoginRoute(
    'login',
    'wallet',
    {
      summary: 'Log in with an EIP-191 signature of a timestamp',
      description:
        'Sign the decimal string of `timestampInMs` with `personal_sign`. Accepted once per (address, timestamp), within 5 minutes of the server clock. ' +
        'A contract wallet (ERC-1271) signs through its own `isValidSignature`, asked when ETH_RPC_URL is set. ' +
        'Access token 15 min, refresh token 24 h. With `HIDE_USER_EXISTENCE=true` the 404 becomes a 401 InvalidSignature.',
    },
    { body: WalletLoginDto, example: TOKENS_EXAMPLE, invalidSignature: 'the recovered address is not the signer', userNotFound: 'the signer is not an active wallet of an active user' },
    ApiEnvelopeError(401, 'TimestampOutOfWindow', 'timestampInMs is more than 5 minutes from the server time', 'the timestamp is more than 5 minutes from the server clock'),
    ApiEnvelopeError(401, 'SignatureReplayed', 'this signed timestamp has already been used', 'this (address, timestamp) has logged in before'),
    ApiEnvelopeError(422, 'ArgumentNotValid', 'signer must be a 0x-prefixed 20-byte hex address', 'body not a JSON object, missing, extra or mistyped fields, malformed address, timestamp or signature'),
    ApiContractWalletUnavailable(),
  )
  async login(@Req() request: LoginRequest): Promise<Envelope<TokenPairBody>> {
    return ok(LOGGED_IN, tokenPairBody(await this.sessions.open(request.user, this.policy, request.possession)));
  }

  @RateLimitedRoute(Post, 'refresh', 'refresh')
  @ApiOperation({
    summary: 'Refresh the token pair',
    description:
      'The access token must carry this service\'s signature (its expiry is waived) and be the one issued with the refresh token; ' +
      'otherwise 401 and the refresh token is revoked. Presenting a used refresh token again revokes the session. Only tokens of wallet logins are accepted here.',
  })
  @ApiEnvelopeOk(REFRESHED, TOKENS_EXAMPLE, { description: 'A new token pair for the same session' })
  @ApiEnvelopeError(401, 'InvalidToken', 'the access token was not issued with this refresh token', 'a token is invalid, expired (refresh), revoked, reused or of another API, or the two were not issued together')
  @ApiEnvelopeError(422, 'ArgumentNotValid', 'refreshToken must be a string', 'body not a JSON object, missing, extra or mistyped fields')
  @ApiEnvelopeCommonErrors({ body: true, rateLimited: true })
  @ApiDpopProof('a bound session refreshes only with a proof by its key')
  async refresh(@Body() body: WalletRefreshDto, @Req() request: FastifyRequest): Promise<Envelope<TokenPairBody>> {
    const presented = { kind: 'pair', refreshToken: body.refreshToken, accessToken: body.expiredAccessToken } as const;
    const pair = await this.sessions.rotate(presented, this.policy, await this.dpop.check(request));
    return ok(REFRESHED, tokenPairBody(pair));
  }
}
