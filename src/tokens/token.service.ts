import { randomUUID, sign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { SigningKeysService } from './signing-keys.service.js';
import { TokenError } from './token.errors.js';
import type { AccessClaims, IssuedToken, RefreshClaims, TokenClaims, TokenUse } from './token.types.js';

// A kid we issue is a base64url SHA-256 thumbprint; anything else (a path, SQL, 10 kB) is refused before lookup.
const KID = /^[A-Za-z0-9_-]{1,64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_TOKEN_LENGTH = 4096;

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

/** Issues and verifies the service's EdDSA JWTs with node:crypto. */
@Injectable()
export class TokenService {
  constructor(
    private readonly keys: SigningKeysService,
    private readonly config: AppConfig,
  ) {}

  async issueAccess(claims: Pick<AccessClaims, 'acc' | 'sub' | 'role' | 'sid'>, ttlSeconds = this.config.ACCESS_TOKEN_TTL): Promise<IssuedToken> {
    return this.sign({ token_use: 'access', acc: claims.acc, sub: claims.sub, role: claims.role, sid: claims.sid }, ttlSeconds);
  }

  async issueRefresh(claims: Pick<RefreshClaims, 'sub' | 'acjti' | 'sid'>, jti: string, ttlSeconds = this.config.REFRESH_TOKEN_TTL): Promise<IssuedToken> {
    return this.sign({ token_use: 'refresh', sub: claims.sub, acjti: claims.acjti, sid: claims.sid }, ttlSeconds, jti);
  }

  private async sign(claims: object, ttlSeconds: number, jti: string = randomUUID()): Promise<IssuedToken> {
    const { kid, privateKey } = await this.keys.signingKey();
    const iat = Math.floor(Date.now() / 1000);
    const exp = iat + ttlSeconds;
    const payload = { ...claims, iss: this.config.JWT_ISSUER, aud: this.config.JWT_AUDIENCE, iat, exp, jti };
    const input = `${base64url({ typ: 'JWT', alg: 'EdDSA', kid })}.${base64url(payload)}`;
    const signature = sign(null, Buffer.from(input), privateKey).toString('base64url');
    return { token: `${input}.${signature}`, jti, exp };
  }

  verifyAccess(token: string, options: { ignoreExpiry?: boolean } = {}): Promise<AccessClaims> {
    return this.verify(token, 'access', options) as Promise<AccessClaims>;
  }

  verifyRefresh(token: string): Promise<RefreshClaims> {
    return this.verify(token, 'refresh', {}) as Promise<RefreshClaims>;
  }

  /**
   * Verifies signature, algorithm, issuer, audience, expiry and use; throws TokenError('INVALID_TOKEN').
   * node:crypto verifies synchronously in OpenSSL; jose's WebCrypto path was 28 % of an
   * introspection's CPU in a profile. Only what this service issues is considered: EdDSA, typ JWT,
   * a kid of ours, no crit; `none`, HS256 and every other algorithm fail before any key is used.
   */
  async verify(token: string, use: TokenUse | 'either', options: { ignoreExpiry?: boolean }): Promise<TokenClaims> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH || !isCanonicalCompactJws(token)) {
      throw new TokenError('INVALID_TOKEN', 'token is malformed');
    }
    const [encodedHeader, encodedPayload, encodedSignature] = token.split('.') as [string, string, string];
    const header = decodeJsonPart(encodedHeader);
    if (!header || header.alg !== 'EdDSA' || header.typ !== 'JWT' || 'crit' in header) {
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
    if (payload.iss !== this.config.JWT_ISSUER || payload.aud !== this.config.JWT_AUDIENCE) {
      throw new TokenError('INVALID_TOKEN', 'token was not issued for this service');
    }
    // The Ethereum API's refresh accepts an expired access token: only its expiry is waived.
    if (!options.ignoreExpiry && payload.exp <= Math.floor(Date.now() / 1000)) throw new TokenError('INVALID_TOKEN', 'token has expired');
    if (use === 'either' ? payload.token_use !== 'access' && payload.token_use !== 'refresh' : payload.token_use !== use) {
      throw new TokenError('INVALID_TOKEN', `expected ${use === 'access' ? 'an access' : use === 'refresh' ? 'a refresh' : 'an access or a refresh'} token`);
    }
    if (typeof payload.jti !== 'string' || !UUID.test(payload.jti) || typeof payload.sid !== 'string' || !UUID.test(payload.sid)) {
      throw new TokenError('INVALID_TOKEN', 'token is malformed');
    }
    if (payload.token_use === 'refresh' && (typeof payload.acjti !== 'string' || !UUID.test(payload.acjti))) {
      throw new TokenError('INVALID_TOKEN', 'token is malformed');
    }
    return payload as unknown as TokenClaims;
  }

}
