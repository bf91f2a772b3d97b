import type { Role, SessionPrincipal } from '../users/user.types.js';

export type { SessionPrincipal };
export type TokenUse = 'access' | 'refresh';

/** RFC 9068 explicit typing: an access token is `at+jwt`, so no verifier can take another kind of token for one. */
export const ACCESS_TOKEN_TYP = 'at+jwt';
export const REFRESH_TOKEN_TYP = 'JWT';

export interface AccessClaims {
  token_use: 'access';
  acc: string;
  sub: string;
  role: Role;
  /** The API (client) that opened the session: fib, wallet, service. */
  client_id: string;
  sid: string;
  iss: string;
  aud: string;
  iat: number;
  exp: number;
  jti: string;
  /** RFC 9449: the thumbprint of the DPoP key the token is bound to; absent for a bearer token. */
  cnf?: { jkt: string };
}

/** Addressed to sigauth itself (`aud` is the issuer), never to the services that take access tokens. */
export interface RefreshClaims {
  token_use: 'refresh';
  sub: string;
  acjti: string;
  client_id: string;
  sid: string;
  iss: string;
  aud: string;
  iat: number;
  exp: number;
  jti: string;
}

export type TokenClaims = AccessClaims | RefreshClaims;

export interface IssuedToken {
  token: string;
  jti: string;
  /** Epoch seconds. */
  exp: number;
}

/** What an access token says, apart from what the service adds (iss, aud). */
export interface AccessFields {
  acc: string;
  sub: string;
  role: Role;
  clientId: string;
  sid: string;
  iat: number;
  exp: number;
  jti: string;
  /** The DPoP key's thumbprint, for a token bound to it. */
  jkt?: string | null;
}

export interface RefreshFields {
  sub: string;
  acjti: string;
  clientId: string;
  sid: string;
  iat: number;
  exp: number;
  jti: string;
}
