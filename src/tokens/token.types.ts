import type { Role, SessionPrincipal } from '../users/user.types.js';

export type { SessionPrincipal };
export type TokenUse = 'access' | 'refresh';

/** RFC 9068 explicit typing: an access token is `at+jwt`, so no verifier can take another kind of token for one. */
export const ACCESS_TOKEN_TYP = 'at+jwt';
export const REFRESH_TOKEN_TYP = 'JWT';

/** What every token of a session says: whose it is, which session and API, who issued it for whom, and when. */
interface SessionTokenClaims {
  sub: string;
  /** The API (client) that opened the session: fib, wallet, service. */
  client_id: string;
  sid: string;
  iss: string;
  aud: string;
  iat: number;
  exp: number;
  jti: string;
}

export interface AccessClaims extends SessionTokenClaims {
  token_use: 'access';
  acc: string;
  role: Role;
  /** RFC 9449: the thumbprint of the DPoP key the token is bound to; absent for a bearer token. */
  cnf?: { jkt: string };
}

/** Addressed to sigauth itself (`aud` is the issuer), never to the services that take access tokens. */
export interface RefreshClaims extends SessionTokenClaims {
  token_use: 'refresh';
  acjti: string;
}

export type TokenClaims = AccessClaims | RefreshClaims;

export interface IssuedToken {
  token: string;
  jti: string;
  /** Epoch seconds. */
  exp: number;
}

/** What an access token says, apart from what the service adds (iss, aud). */
interface SessionTokenFields {
  sub: string;
  clientId: string;
  sid: string;
  iat: number;
  exp: number;
  jti: string;
}

export interface AccessFields extends SessionTokenFields {
  acc: string;
  role: Role;
  /** The DPoP key's thumbprint, for a token bound to it. */
  jkt?: string | null;
}

export interface RefreshFields extends SessionTokenFields {
  acjti: string;
}
