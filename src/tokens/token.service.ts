import { sign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { AppConfig } from '../config/app-config.js';
import { SigningKeysService, type SigningKey } from './signing-keys.service.js';
import { TokenError } from './token.errors.js';
import {
  ACCESS_TOKEN_TYP,
  REFRESH_TOKEN_TYP,
  type AccessClaims,
  type AccessFields,
  type IssuedToken,
  type RefreshClaims,
  type RefreshFields,
  type TokenClaims,
  type TokenUse,
} from './token.types.js';

// A kid we issue is a base64url SHA-256 thumbprint; anything else (a path, SQL, 10 kB) is refused before lookup.
const KID = /^[A-Za-z0-9_-]{1,64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_TOKEN_LENGTH = 4096;
/** How many verified access tokens an instance remembers (FIFO); about 1 kB each. */
const VERIFIED_ACCESS_TOKENS = 1024;

/**
 * Three unpadded base64url parts, each in its one canonical spelling. jose decodes leniently
 * (padding, stray low bits in the last character), which would let one token be written many ways.
 */
function isCanonicalCompactJws(token: string): boolean {
  const parts = token.split('.');
  return parts.length === 3 && parts.every((part) => /^[A-Za-z0-9_-]+$/.test(part) && Buffer.from(part, 'base64url').toString('base64url') === part);
}

/** A JSON object from a base64url part, or undefined. */
function decodeJsonPart(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function verifySignature(key: KeyObject, signingInput: string, signature: Buffer): boolean {
  if (signature.length !== 64) return false;
  try {
    return cryptoVerify(null, Buffer.from(signingInput), key, signature);
  } catch {
    return false;
  }
}

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export interface VerifyOptions {
  /** The Ethereum API's refresh takes an expired access token: only its expiry is waived. */
  ignoreExpiry?: boolean;
}

/**
 * Issues and verifies the service's EdDSA JWTs with node:crypto. A token is a pure function of its
 * fields and key (Ed25519 signatures are deterministic), so the same fields always give the same
 * bytes: the grace answer of a rotation relies on it.
 */
@Injectable()
export class TokenService {
  /**
   * Access tokens verified lately, by their exact text, with the key that verified them. A caller
   * presents its bearer token on every request (a resource server asking introspection, an admin
   * client), and verifying the same bytes with the same key can only give the same answer; what
   * can change is checked again on every use: the expiry, and that the key is still one this
   * instance verifies with (a revoked key, or any reload of the key table, makes it a miss).
   */
  private readonly verifiedAccess = new Map<string, { claims: Readonly<AccessClaims>; kid: string; key: KeyObject }>();

  constructor(
    private readonly keys: SigningKeysService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  signAccess(key: SigningKey, f: AccessFields): IssuedToken {
    // The key order is part of the token's bytes: keep it fixed.
    const claims: AccessClaims = {
      token_use: 'access',
      acc: f.acc,
      sub: f.sub,
      role: f.role,
      client_id: f.clientId,
      sid: f.sid,
      iss: this.config.JWT_ISSUER,
      aud: this.config.JWT_AUDIENCE,
      iat: f.iat,
      exp: f.exp,
      jti: f.jti,
      ...(f.jkt ? { cnf: { jkt: f.jkt } } : {}),
    };
    return this.sign(key, ACCESS_TOKEN_TYP, claims);
  }

  signRefresh(key: SigningKey, f: RefreshFields): IssuedToken {
    const claims: RefreshClaims = {
      token_use: 'refresh',
      sub: f.sub,
      acjti: f.acjti,
      client_id: f.clientId,
      sid: f.sid,
      iss: this.config.JWT_ISSUER,
      aud: this.config.JWT_ISSUER,
      iat: f.iat,
      exp: f.exp,
      jti: f.jti,
    };
    return this.sign(key, REFRESH_TOKEN_TYP, claims);
  }

  private sign(key: SigningKey, typ: string, claims: TokenClaims): IssuedToken {
    const input = `${base64url({ typ, alg: 'EdDSA', kid: key.kid })}.${base64url(claims)}`;
    const signature = sign(null, Buffer.from(input), key.privateKey).toString('base64url');
    return { token: `${input}.${signature}`, jti: claims.jti, exp: claims.exp };
  }

  async verifyAccess(token: string, options: VerifyOptions = {}): Promise<AccessClaims> {
    if (options.ignoreExpiry) return (await this.verified(token, 'access', options)).claims as AccessClaims;
    const remembered = this.verifiedAccess.get(token);
    if (remembered) {
      if (remembered.claims.exp > Math.floor(this.clock.now() / 1000) && (await this.keys.publicKey(remembered.kid)) === remembered.key) return { ...remembered.claims };
      this.verifiedAccess.delete(token);
    }
    const { claims, kid, key } = await this.verified(token, 'access', options);
    if (this.verifiedAccess.size >= VERIFIED_ACCESS_TOKENS) this.verifiedAccess.delete(this.verifiedAccess.keys().next().value!);
    this.verifiedAccess.set(token, { claims: Object.freeze({ ...(claims as AccessClaims) }), kid, key });
    return claims as AccessClaims;
  }

  verifyRefresh(token: string, options: VerifyOptions = {}): Promise<RefreshClaims> {
    return this.verify(token, 'refresh', options) as Promise<RefreshClaims>;
  }

  /**
   * Verifies signature, algorithm, type, issuer, audience, expiry and use; throws
   * TokenError('INVALID_TOKEN'). node:crypto verifies synchronously in OpenSSL; jose's WebCrypto
   * path was 28 % of an introspection's CPU in a profile. Only what this service issues is
   * considered: EdDSA, a kid of ours, no crit; an access token is `typ: at+jwt` for the resource
   * audience, a refresh token `typ: JWT` addressed to this issuer.
   */
  async verify(token: string, use: TokenUse | 'either', options: VerifyOptions): Promise<TokenClaims> {
    return (await this.verified(token, use, options)).claims;
  }

  /** The claims of a token that verifies, with the key that verified it. */
  private async verified(token: string, use: TokenUse | 'either', options: VerifyOptions): Promise<{ claims: TokenClaims; kid: string; key: KeyObject }> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH || !isCanonicalCompactJws(token)) {
      throw new TokenError('INVALID_TOKEN', 'token is malformed');
    }
    const [encodedHeader, encodedPayload, encodedSignature] = token.split('.') as [string, string, string];
    const header = decodeJsonPart(encodedHeader);
    if (!header || header.alg !== 'EdDSA' || (header.typ !== ACCESS_TOKEN_TYP && header.typ !== REFRESH_TOKEN_TYP) || 'crit' in header) {
      throw new TokenError('INVALID_TOKEN', 'token is malformed or its signature does not verify');
    }
    if (typeof header.kid !== 'string' || !KID.test(header.kid)) throw new TokenError('INVALID_TOKEN', 'token has no valid key id');
    const key = await this.keys.publicKey(header.kid);
    if (!key) throw new TokenError('INVALID_TOKEN', 'token was not signed by a key of this service');
    if (!verifySignature(key, `${encodedHeader}.${encodedPayload}`, Buffer.from(encodedSignature, 'base64url'))) {
      throw new TokenError('INVALID_TOKEN', 'token is malformed or its signature does not verify');
    }
    const payload = decodeJsonPart(encodedPayload);
    if (!payload || typeof payload.exp !== 'number' || typeof payload.iat !== 'number' || typeof payload.sub !== 'string') {
      throw new TokenError('INVALID_TOKEN', 'token is malformed');
    }
    const kind = payload.token_use;
    if (kind !== 'access' && kind !== 'refresh') throw new TokenError('INVALID_TOKEN', 'token is malformed');
    if (use !== 'either' && kind !== use) throw new TokenError('INVALID_TOKEN', `expected ${use === 'access' ? 'an access' : 'a refresh'} token`);
    const expected = this.expectedFor(kind, payload);
    if (header.typ !== expected.typ) throw new TokenError('INVALID_TOKEN', 'token is malformed or its signature does not verify');
    if (payload.iss !== this.config.JWT_ISSUER || payload.aud !== expected.aud) {
      throw new TokenError('INVALID_TOKEN', 'token was not issued for this service');
    }
    if (!options.ignoreExpiry && payload.exp <= Math.floor(this.clock.now() / 1000)) throw new TokenError('INVALID_TOKEN', 'token has expired');
    if (typeof payload.jti !== 'string' || !UUID.test(payload.jti) || typeof payload.sid !== 'string' || !UUID.test(payload.sid)) {
      throw new TokenError('INVALID_TOKEN', 'token is malformed');
    }
    if (kind === 'refresh' && (typeof payload.acjti !== 'string' || !UUID.test(payload.acjti))) {
      throw new TokenError('INVALID_TOKEN', 'token is malformed');
    }
    if (typeof payload.client_id !== 'string') throw new TokenError('INVALID_TOKEN', 'token is malformed');
    return { claims: payload as unknown as TokenClaims, kid: header.kid, key };
  }

  /**
   * The header type and audience each kind of token carries. Tokens issued before explicit typing
   * (no `client_id`; both `typ: JWT` for the resource audience) still verify until they expire, so
   * that an upgrade logs nobody out; their session, which remembers its API, stands in for the claim.
   */
  private expectedFor(kind: TokenUse, payload: Record<string, unknown>): { typ: string; aud: string } {
    if (payload.client_id === undefined) {
      payload.client_id = LEGACY_CLIENT;
      return { typ: REFRESH_TOKEN_TYP, aud: this.config.JWT_AUDIENCE };
    }
    return kind === 'access' ? { typ: ACCESS_TOKEN_TYP, aud: this.config.JWT_AUDIENCE } : { typ: REFRESH_TOKEN_TYP, aud: this.config.JWT_ISSUER };
  }
}

/** The client of a token issued before tokens named theirs: the session's own is checked instead. */
export const LEGACY_CLIENT = '';
