import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, errors, jwtVerify, type JWK } from 'jose';

/**
 * The proof algorithms sigauth takes (RFC 9449 section 4.2 leaves the choice to the server): Ed25519, under its JOSE name EdDSA and
 * its fully specified name Ed25519 (RFC 9864, which oauth4webapi sends), and P-256.
 */
export const DPOP_ALGORITHMS = ['EdDSA', 'Ed25519', 'ES256'] as const;

// A proof is a few hundred bytes; a jti is an identifier, not a document.
const MAX_PROOF_LENGTH = 4096;
const MAX_JTI_LENGTH = 256;

/** What the request a proof must be for looks like. */
export interface DpopRequest {
  /** The HTTP method, e.g. POST. */
  method: string;
  /** The request's absolute URL as the client addressed it; its query and fragment are ignored. */
  url: string;
  /** The access token sent with the proof, when there is one: the proof must carry its hash (`ath`). */
  accessToken?: string;
  /** Epoch milliseconds. */
  now: number;
  /** How far `iat` may be from now, either way, in seconds. */
  windowSeconds: number;
}

/** A proof that verified: the thumbprint of its key (RFC 7638), its jti and when it was made. */
export interface VerifiedDpopProof {
  jkt: string;
  jti: string;
  /** Epoch seconds. */
  iat: number;
}

/** The proof is missing a piece, malformed, or not for this request. */
export class DpopProofError extends Error {
  override readonly name = 'DpopProofError';
}

/** RFC 9449 section 4.3, point 9: the URI without query and fragment, scheme and host normalized. */
function targetUri(value: string): string | undefined {
  try {
    const url = new URL(value);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return undefined;
  }
}

/** `ath`: the base64url SHA-256 of the access token's ASCII bytes. */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}

/**
 * Checks a DPoP proof (RFC 9449 section 4.3) for one request: a JWT typed `dpop+jwt`, signed with
 * EdDSA or ES256 by the public key in its own header, whose `htm` and `htu` name this request,
 * whose `iat` is within the window and, with an access token, whose `ath` is that token's hash.
 * That its `jti` was not seen before is the caller's to check, within the window.
 */
export async function verifyDpopProof(proof: unknown, request: DpopRequest): Promise<VerifiedDpopProof> {
  if (typeof proof !== 'string' || proof.length === 0 || proof.length > MAX_PROOF_LENGTH) throw new DpopProofError('the DPoP header must hold one proof JWT');
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(proof);
  } catch {
    throw new DpopProofError('the DPoP proof is not a JWT');
  }
  const jwk = header.jwk as JWK | undefined;
  if (typeof jwk !== 'object' || jwk === null || 'd' in jwk) throw new DpopProofError('the DPoP proof must carry its public key in the jwk header');
  let payload;
  try {
    ({ payload } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: [...DPOP_ALGORITHMS], requiredClaims: ['jti', 'htm', 'htu', 'iat'], currentDate: new Date(request.now) }));
  } catch (error) {
    if (error instanceof errors.JOSEAlgNotAllowed) throw new DpopProofError('the DPoP proof must be signed with EdDSA (Ed25519) or ES256');
    if (error instanceof errors.JWTClaimValidationFailed) throw new DpopProofError(`the DPoP proof's ${error.claim} is not accepted`);
    throw new DpopProofError('the DPoP proof is malformed or its signature does not verify');
  }
  const { jti, htm, htu, iat, ath } = payload as Record<string, unknown>;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) throw new DpopProofError('the DPoP proof needs a jti');
  if (htm !== request.method) throw new DpopProofError('the DPoP proof is for another method');
  const expected = targetUri(request.url);
  if (typeof htu !== 'string' || expected === undefined || targetUri(htu) !== expected) throw new DpopProofError('the DPoP proof is for another URL');
  if (typeof iat !== 'number' || Math.abs(iat - request.now / 1000) > request.windowSeconds) throw new DpopProofError('the DPoP proof is too old or from the future');
  if (request.accessToken !== undefined && ath !== accessTokenHash(request.accessToken)) throw new DpopProofError('the DPoP proof is not for this access token (ath)');
  return { jkt: await calculateJwkThumbprint(jwk, 'sha256'), jti, iat };
}
