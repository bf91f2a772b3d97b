import { createHash, randomUUID } from 'node:crypto';
import { exportJWK, SignJWT, type CryptoKey as JoseKey } from 'jose';

/** RFC 7523's client_assertion_type for private_key_jwt. */
export const CLIENT_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export type DpopKeys = { publicKey: JoseKey; privateKey: JoseKey };

/** RFC 9449's `ath`: the access token's SHA-256, base64url, computed here apart from the service's code. */
export const ath = (token: string): string => createHash('sha256').update(token, 'ascii').digest('base64url');

/** A DPoP proof made with jose alone, for the requests a client library would never send (a replay, a wrong URL, another key). */
export async function dpopProof(keys: DpopKeys, alg: 'EdDSA' | 'ES256', htm: string, htu: string, extra: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ htm, htu, jti: randomUUID(), iat: Math.floor(Date.now() / 1000), ...extra })
    .setProtectedHeader({ typ: 'dpop+jwt', alg, jwk: await exportJWK(keys.publicKey) })
    .sign(keys.privateKey);
}
