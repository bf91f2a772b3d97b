import { Inject, Injectable, Logger } from '@nestjs/common';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { SIGAUTH_GUARD_OPTIONS, resolveSigauthGuardOptions, type ResolvedSigauthGuardOptions, type SigauthGuardOptions } from './sigauth-guard.options.js';
import { SigauthIntrospectionClient } from './sigauth-introspection.client.js';
import type { SigauthPrincipal, SigauthRole } from './sigauth-principal.js';
import { SigauthTokenRejectedError, SigauthUnavailableError } from './sigauth-token.errors.js';

/** RFC 9068's media type of a JWT access token, in sigauth's `typ` header. */
const ACCESS_TOKEN_TYP = 'at+jwt';

// sigauth's access tokens are about 600 bytes; anything far larger is refused before it is parsed.
const MAX_TOKEN_LENGTH = 8192;
const ROLES: readonly string[] = ['ROLE_PEER', 'ROLE_ADMIN', 'ROLE_SERVICE'] satisfies SigauthRole[];

const isNonEmptyString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const isAudience = (value: unknown): value is string | string[] => isNonEmptyString(value) || (Array.isArray(value) && value.every(isNonEmptyString));

/**
 * Whether a jose error means the key set could not be obtained (sigauth down, a timeout, a body that
 * is not a key set) rather than that the token is bad. Only the remote key set throws the generic
 * JOSEError; anything that is not a JOSEError at all is a failed fetch.
 */
function isKeySetUnavailable(error: unknown): boolean {
  if (!(error instanceof errors.JOSEError)) return true;
  return error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || error.code === errors.JOSEError.code;
}

/**
 * Verifies sigauth access tokens offline: EdDSA signatures against sigauth's published key set
 * (cached, refetched when a token names an unknown `kid`), issuer, audience, expiry and token use;
 * then, when configured, asks sigauth's introspection whether the token is still active.
 */
@Injectable()
export class SigauthTokenVerifier {
  private readonly logger = new Logger('SigauthGuard');
  private readonly options: ResolvedSigauthGuardOptions;
  private readonly keySet: JWTVerifyGetKey;
  private readonly introspection?: SigauthIntrospectionClient;
  /** How the guard checks the DPoP proofs of bound tokens. */
  readonly dpopOptions: ResolvedSigauthGuardOptions['dpop'];

  constructor(@Inject(SIGAUTH_GUARD_OPTIONS) options: SigauthGuardOptions) {
    this.options = resolveSigauthGuardOptions(options);
    this.dpopOptions = this.options.dpop;
    this.keySet = createRemoteJWKSet(this.options.jwksUrl, {
      cooldownDuration: this.options.jwksCooldownMs,
      cacheMaxAge: this.options.jwksCacheMaxAgeMs,
      timeoutDuration: this.options.jwksTimeoutMs,
    });
    if (this.options.introspection) this.introspection = new SigauthIntrospectionClient(this.options.introspection);
  }

  /**
   * The principal of a live access token. Throws SigauthTokenRejectedError for a token this service
   * must refuse and SigauthUnavailableError when sigauth could not be consulted.
   */
  async verify(token: string): Promise<SigauthPrincipal> {
    if (!isNonEmptyString(token) || token.length > MAX_TOKEN_LENGTH) throw new SigauthTokenRejectedError('invalid', 'token is malformed');
    const principal = principalOf(await this.verifySignature(token));
    // Offline checks come first, so a forged token never reaches sigauth.
    if (this.introspection) {
      let active: boolean;
      try {
        active = await this.introspection.isActive(token);
      } catch (error) {
        if (error instanceof SigauthUnavailableError) this.logger.warn(error.message);
        throw error;
      }
      if (!active) throw new SigauthTokenRejectedError('revoked', 'token is no longer active');
    }
    return principal;
  }

  private async verifySignature(token: string): Promise<JWTPayload> {
    try {
      const { payload, protectedHeader } = await jwtVerify(token, this.keySet, {
        algorithms: ['EdDSA'],
        // RFC 9068: only a token typed as an access token is one; a refresh token (typ JWT,
        // addressed to sigauth itself) can never pass for one.
        ...(this.options.acceptUntypedAccessTokens ? {} : { typ: ACCESS_TOKEN_TYP }),
        issuer: this.options.issuer,
        audience: this.options.audience,
        clockTolerance: this.options.clockToleranceSeconds,
        requiredClaims: ['exp', 'iat', 'jti', 'sub'],
      });
      if (protectedHeader.typ !== ACCESS_TOKEN_TYP && !(protectedHeader.typ === 'JWT' && payload.token_use === 'access')) {
        throw new SigauthTokenRejectedError('not_an_access_token', 'an access token (typ at+jwt) is required');
      }
      return payload;
    } catch (error) {
      if (error instanceof SigauthTokenRejectedError) throw error;
      if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'typ') throw new SigauthTokenRejectedError('not_an_access_token', 'an access token (typ at+jwt) is required');
      if (error instanceof errors.JWTExpired) throw new SigauthTokenRejectedError('expired', 'token has expired');
      if (error instanceof errors.JWTClaimValidationFailed) throw new SigauthTokenRejectedError('invalid', `token ${error.claim} claim is not accepted`);
      if (isKeySetUnavailable(error)) {
        const message = `sigauth's key set is unavailable: ${(error as Error).message}`;
        this.logger.warn(message);
        throw new SigauthUnavailableError(message, { cause: error });
      }
      throw new SigauthTokenRejectedError('invalid', 'token is malformed or its signature does not verify');
    }
  }
}

function principalOf(payload: JWTPayload): SigauthPrincipal {
  const { token_use, acc, sub, role, client_id, sid, iss, aud, iat, exp, jti, cnf } = payload;
  if (token_use !== 'access') throw new SigauthTokenRejectedError('not_an_access_token', 'an access token is required');
  if (
    !isNonEmptyString(acc) || !isNonEmptyString(sub) || !isNonEmptyString(sid) || !isNonEmptyString(jti) || !isNonEmptyString(iss) ||
    typeof role !== 'string' || !ROLES.includes(role) || !isAudience(aud) || typeof iat !== 'number' || typeof exp !== 'number' ||
    (client_id !== undefined && !isNonEmptyString(client_id)) ||
    (cnf !== undefined && (typeof cnf !== 'object' || cnf === null || !isNonEmptyString((cnf as { jkt?: unknown }).jkt)))
  ) {
    throw new SigauthTokenRejectedError('invalid', 'token lacks the claims of a sigauth access token');
  }
  const bound = cnf === undefined ? {} : { cnf: { jkt: (cnf as { jkt: string }).jkt } };
  return { token_use, acc, sub, role: role as SigauthRole, ...(client_id === undefined ? {} : { client_id }), sid, iss, aud, iat, exp, jti, ...bound };
}
