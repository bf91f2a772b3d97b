import { Controller, Inject, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '../../http/openapi-decorators.js';
import { ok, type Envelope } from '../../http/envelope.js';
import { ApiEnvelopeCommonErrors, ApiEnvelopeError, ApiEnvelopeOk, LOGGED_IN } from '../../http/openapi.js';
import { ApiStatusTable } from '../../http/status-table.js';
import { RateLimitedRoute } from '../../rate-limit/rate-limit.guard.js';
import { SignatureLoginRoute, type LoginRequest } from '../../auth/login.guard.js';
import { tokenPairBody, type TokenPairBody } from '../../sessions/presented-token.js';
import { SESSION_POLICY, type SessionPolicy } from '../../sessions/session-policy.js';
import { SessionsService } from '../../sessions/sessions.service.js';
import { SiweLoginDto } from './dto/siwe-login.dto.js';
import { SiweNonces } from './siwe-nonces.js';
import { SIWE_STATUS_TABLE } from './wallet-status-table.js';
import { ApiContractWalletUnavailable, TOKENS_EXAMPLE } from './wallet.openapi.js';

/**
 * Sign-In with Ethereum (EIP-4361), beside the timestamp login: a message bound
 * to this service's domain, URI and chain, with a nonce it issued. Its sessions are wallet
 * sessions (client `wallet`), refreshed by POST /api/auth/refresh.
 */
@ApiTags('Ethereum wallet')
@ApiStatusTable(SIWE_STATUS_TABLE)
@Controller('api/auth/siwe')
export class SiweController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly nonces: SiweNonces,
    @Inject(SESSION_POLICY) private readonly policy: SessionPolicy,
  ) {}

  @RateLimitedRoute(Post, 'nonce', 'siwe-nonce')
  @ApiOperation({ summary: 'Get a nonce for a Sign-In with Ethereum message', description: 'Random (128 bits), valid for 5 minutes and for one login. No body is needed.' })
  @ApiEnvelopeOk('Nonce issued.', { nonce: '9f1c2a9e5d4b4c1e9a7f2b8d6e0c4a11', expiresAt: 1767225900000 }, { description: 'The nonce and its expiry (epoch milliseconds)' })
  @ApiEnvelopeCommonErrors({ body: true, rateLimited: true })
  async nonce(): Promise<Envelope<{ nonce: string; expiresAt: number }>> {
    return ok('Nonce issued.', await this.nonces.issue());
  }

  @SignatureLoginRoute(
    'login',
    'siwe',
    {
      summary: 'Log in with a Sign-In with Ethereum (EIP-4361) message',
      description:
        'Sign the message with `personal_sign`. Its `domain` must be one of SIWE_DOMAINS, its `uri` at an origin of SIWE_URIS, its chain ETH_CHAIN_ID, its nonce one from POST /api/auth/siwe/nonce, ' +
        'unused; `issuedAt` within 5 minutes of the server clock, `expirationTime` and `notBefore` honoured. The signature is checked over the exact text sent. ' +
        'A contract wallet (ERC-1271) signs through its own `isValidSignature`, asked when ETH_RPC_URL is set. The same tokens as POST /api/auth/login, refreshed by POST /api/auth/refresh.',
    },
    { body: SiweLoginDto, example: TOKENS_EXAMPLE, invalidSignature: 'the signature is not the address\'s; or the message is for another domain, URI or chain', userNotFound: 'the address is not an active wallet of an active user' },
    ApiEnvelopeError(401, 'InvalidNonce', 'the nonce was not issued by this service, has expired or has been used', 'the nonce was not issued by sigauth, has expired, or has been used'),
    ApiEnvelopeError(401, 'MessageExpired', 'the message expired at 2026-01-01T00:05:00.000Z', 'past expirationTime, before notBefore, or issuedAt more than 5 minutes from the server clock'),
    ApiEnvelopeError(422, 'ArgumentNotValid', 'signature must be 0x and an even number of hex digits', 'body not a JSON object, missing, extra or mistyped fields, malformed signature'),
    ApiEnvelopeError(422, 'InvalidMessage', 'not an EIP-4361 message: the address is not EIP-55 checksummed', 'the message does not parse as EIP-4361'),
    ApiContractWalletUnavailable(),
  )
  async login(@Req() request: LoginRequest): Promise<Envelope<TokenPairBody>> {
    return ok(LOGGED_IN, tokenPairBody(await this.sessions.open(request.user, this.policy, request.possession)));
  }
}
