import { authorizationToken, type AuthorizationToken } from '../http/authorization-header.js';
import type { TokenPair } from './sessions.service.js';
import { TokenError } from '../tokens/token.errors.js';

/** The token of an Authorization header, in any scheme the APIs accept, and the scheme (whether `DPoP`); MISSING_TOKEN when there is none. */
export function presentedAuthorization(header: string | undefined, message = 'Authorization header with a token is required'): AuthorizationToken {
  const presented = authorizationToken(header);
  if (!presented) throw new TokenError('MISSING_TOKEN', message);
  return presented;
}

/** The token of an Authorization header, in any scheme the APIs accept; MISSING_TOKEN when there is none. */
export function presentedToken(header: string | undefined, message?: string): string {
  return presentedAuthorization(header, message).token;
}

/** A token pair as the envelope APIs answer it, expiries in epoch milliseconds. */
export interface TokenPairBody {
  accessToken: string;
  refreshToken: string;
  accessExpiryAt: number;
  refreshExpiryAt: number;
  /** Present only for DPoP-bound tokens (RFC 9449): use them with `Authorization: DPoP` and a proof. */
  tokenType?: 'DPoP';
}

export function tokenPairBody(pair: TokenPair): TokenPairBody {
  const body: TokenPairBody = { accessToken: pair.accessToken, refreshToken: pair.refreshToken, accessExpiryAt: pair.accessExp * 1000, refreshExpiryAt: pair.refreshExp * 1000 };
  if (pair.tokenType === 'DPoP') body.tokenType = 'DPoP';
  return body;
}
