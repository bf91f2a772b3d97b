import type { Role, SessionPrincipal } from '../users/user.types.js';

export type { SessionPrincipal };

export type TokenUse = 'access' | 'refresh';

export interface AccessClaims {
  token_use: 'access';
  acc: string;
  sub: string;
  role: Role;
  sid: string;
  iss: string;
  aud: string;
  iat: number;
  exp: number;
  jti: string;
}

export interface RefreshClaims {
  token_use: 'refresh';
  sub: string;
  acjti: string;
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

