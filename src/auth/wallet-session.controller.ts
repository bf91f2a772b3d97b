import { Body, Controller, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { RateLimit } from '../rate-limit/rate-limit.guard.js';
import { SessionsService, type Lifetimes, type TokenPair } from '../tokens/sessions.service.js';
import { TokenError } from '../tokens/token.errors.js';
import { TokenService } from '../tokens/token.service.js';
import { WalletRefreshDto } from './dto/wallet-login.dto.js';
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

/** The Ethereum wallet API (DESIGN section 5). */
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
  async login(@Req() request: LoginRequest): Promise<Envelope<WalletTokens>> {
    const { principal, credential } = request.user;
    const pair = await this.sessions.start(principal, credential, { ip: request.ip, userAgent: request.headers['user-agent'] ?? null }, this.lifetimes);
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
