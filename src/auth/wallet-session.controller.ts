import { Body, Controller, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiEnvelopeCommonErrors, ApiEnvelopeError, ApiEnvelopeOk, EXAMPLE_ACCESS_TOKEN, EXAMPLE_REFRESH_TOKEN } from '../common/openapi.js';
import { AppConfig } from '../config/app-config.js';
import { RateLimit } from '../rate-limit/rate-limit.guard.js';
import { SessionsService, type Lifetimes, type TokenPair } from '../tokens/sessions.service.js';
import { TokenError } from '../tokens/token.errors.js';
import { TokenService } from '../tokens/token.service.js';
import { WalletLoginDto, WalletRefreshDto } from './dto/wallet-login.dto.js';
import { ok, type Envelope } from './envelope.js';
import { LoginGuard, type LoginRequest } from './login.guard.js';

export interface WalletTokens {
  accessToken: string;
  refreshToken: string;
  accessExpiryAt: number;
  refreshExpiryAt: number;
}

function walletTokens(pair: TokenPair): WalletTokens {
  return { accessToken: pair.accessToken, refreshToken: pair.refreshToken, accessExpiryAt: pair.accessExp * 1000, refreshExpiryAt: pair.refreshExp * 1000 };
}

const TOKENS_EXAMPLE: WalletTokens = {
  accessToken: EXAMPLE_ACCESS_TOKEN,
  refreshToken: EXAMPLE_REFRESH_TOKEN,
  accessExpiryAt: 1767226500000,
  refreshExpiryAt: 1767312000000,
};

/** The Ethereum wallet API (DESIGN section 5). */
@ApiTags('Ethereum wallet')
@Controller('api/auth')
export class WalletSessionController {
  private readonly lifetimes: Lifetimes;

  constructor(
    private readonly sessions: SessionsService,
    private readonly tokens: TokenService,
    config: AppConfig,
  ) {
    this.lifetimes = { access: config.WALLET_ACCESS_TOKEN_TTL, refresh: config.WALLET_REFRESH_TOKEN_TTL };
  }

  @Post('login')
  @HttpCode(200)
  @UseGuards(LoginGuard('wallet-signature'))
  @ApiOperation({
    summary: 'Log in with an EIP-191 signature of a timestamp',
    description:
      'Sign the decimal string of `timestampInMs` with `personal_sign`. Accepted once per (address, timestamp), within 5 minutes of the server clock. ' +
      'Access token 15 min, refresh token 24 h. With `HIDE_USER_EXISTENCE=true` the 404 becomes a 401 InvalidSignature.',
  })
  @ApiBody({ type: WalletLoginDto })
  @ApiEnvelopeOk('User authorization has been successful.', TOKENS_EXAMPLE, { description: 'Logged in: a new session and its token pair' })
  @ApiEnvelopeError(401, 'InvalidSignature', 'Signature is not valid.', 'the recovered address is not the signer')
  @ApiEnvelopeError(401, 'TimestampOutOfWindow', 'timestampInMs is more than 5 minutes from the server time', 'the timestamp is more than 5 minutes from the server clock')
  @ApiEnvelopeError(401, 'SignatureReplayed', 'this signed timestamp has already been used', 'this (address, timestamp) has logged in before')
  @ApiEnvelopeError(404, 'UserNotFound', 'User not found.', 'the signer is not an active wallet of an active user')
  @ApiEnvelopeError(422, 'ArgumentNotValid', 'signer must be a 0x-prefixed 20-byte hex address', 'body not a JSON object, missing, extra or mistyped fields, malformed address, timestamp or signature')
  @ApiEnvelopeCommonErrors({ body: true, rateLimited: true })
  async login(@Req() request: LoginRequest): Promise<Envelope<WalletTokens>> {
    const { principal, credential } = request.user;
    const pair = await this.sessions.start(principal, credential, this.lifetimes);
    return ok('User authorization has been successful.', walletTokens(pair));
  }

  /**
   * The access token proves which login the refresh token belongs to: it must carry our signature
   * (its expiry is waived) and its jti must be the refresh token's acjti. A refresh token presented
   * with any other access token is revoked, since the pair was not issued together.
   */
  @Post('refresh')
  @HttpCode(200)
  @UseGuards(RateLimit('refresh'))
  @ApiOperation({
    summary: 'Refresh the token pair',
    description:
      'The access token must carry this service\'s signature (its expiry is waived) and be the one issued with the refresh token; ' +
      'otherwise 401 and the refresh token is revoked. Presenting a used refresh token again revokes the session.',
  })
  @ApiEnvelopeOk('Tokens have been refreshed.', TOKENS_EXAMPLE, { description: 'A new token pair for the same session' })
  @ApiEnvelopeError(401, 'InvalidToken', 'the access token was not issued with this refresh token', 'a token is invalid, expired (refresh), revoked or reused, or the two were not issued together')
  @ApiEnvelopeError(422, 'ArgumentNotValid', 'refreshToken must be a string', 'body not a JSON object, missing, extra or mistyped fields')
  @ApiEnvelopeCommonErrors({ body: true, rateLimited: true })
  async refresh(@Body() body: WalletRefreshDto): Promise<Envelope<WalletTokens>> {
    const refreshClaims = await this.tokens.verifyRefresh(body.refreshToken);
    let accessJti: string;
    try {
      accessJti = (await this.tokens.verifyAccess(body.expiredAccessToken, { ignoreExpiry: true })).jti;
    } catch (error) {
      await this.sessions.revokeRefreshFamily(refreshClaims.jti, 'refresh with an invalid access token');
      throw error;
    }
    if (accessJti !== refreshClaims.acjti) {
      await this.sessions.revokeRefreshFamily(refreshClaims.jti, 'refresh with a mismatched access token');
      throw new TokenError('TOKEN_PAIR_MISMATCH', 'the access token was not issued with this refresh token');
    }
    return ok('Tokens have been refreshed.', walletTokens(await this.sessions.refresh(refreshClaims, this.lifetimes)));
  }
}
