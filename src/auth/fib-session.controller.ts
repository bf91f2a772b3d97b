import { Body, Controller, Headers, HttpCode, Patch, Post, Req, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { tokenFromAuthorization } from '../common/authorization-header.js';
import { RateLimit } from '../rate-limit/rate-limit.guard.js';
import { SessionsService, type TokenPair } from '../tokens/sessions.service.js';
import { TokenError } from '../tokens/token.errors.js';
import { TokenService } from '../tokens/token.service.js';
import { claimedEmailKey } from '../users/email.js';
import { ChallengeDto } from './dto/fib-login.dto.js';
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

function challengeIdentity(request: FastifyRequest): string | undefined {
  return claimedEmailKey((request.body as { email?: unknown } | undefined)?.email);
}

function requireToken(header: string | undefined): string {
  const token = tokenFromAuthorization(header);
  if (!token) throw new TokenError('MISSING_TOKEN', 'Authorization header with a token is required');
  return token;
}

/** The FIB session API (DESIGN section 3). */
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
  async login(@Req() request: LoginRequest): Promise<Envelope<FibTokens>> {
    const { principal, credential } = request.user;
    const pair = await this.sessions.start(principal, credential, { ip: request.ip, userAgent: request.headers['user-agent'] ?? null });
    return this.envelope('User authorization has been successful.', pair);
  }

  /** A single-use nonce for a challenge login, answered alike whether or not the email has an account. */
  @Post('challenge')
  @HttpCode(200)
  @UseGuards(RateLimit('challenge', challengeIdentity))
  async challenge(@Body() body: ChallengeDto): Promise<Envelope<{ nonce: string; expiresAt: number }>> {
    return ok('Challenge issued.', await this.challenges.issue(body.email));
  }

  @Patch('session')
  @HttpCode(200)
  @UseGuards(RateLimit('refresh'))
  async refresh(@Headers('authorization') authorization: string | undefined): Promise<Envelope<FibTokens>> {
    const claims = await this.tokens.verifyRefresh(requireToken(authorization));
    return this.envelope('Tokens have been refreshed.', await this.sessions.refresh(claims));
  }

  @Post('logout')
  @HttpCode(200)
  async logout(@Headers('authorization') authorization: string | undefined): Promise<Envelope<Record<string, never>>> {
    await this.sessions.logout(requireToken(authorization));
    return ok('User has been logged out.', {});
  }
}
