import { DpopProofError, verifyDpopProof } from './dpop-proof.js';
import type { ResolvedSigauthGuardOptions } from './sigauth-guard.options.js';
import type { SigauthRequest } from './sigauth-principal.js';
import { SigauthTokenRejectedError } from './sigauth-token.errors.js';

/**
 * A consumer's side of DPoP (RFC 9449 section 7): a bound access token counts only with a proof,
 * by the key it is bound to, for this request, recent, carrying the token's hash, and not seen
 * before. Seen proofs are remembered in this process for the proof window (least recently added
 * first out past the limit): a service running several instances accepts a proof replayed to
 * another instance within the window, which `htu`, `iat` and `ath` keep to this URL, this token
 * and this minute.
 */
export class DpopProofChecker {
  private readonly seen = new Map<string, number>();

  constructor(private readonly options: ResolvedSigauthGuardOptions['dpop']) {}

  async check(request: SigauthRequest, accessToken: string, jkt: string, now = Date.now()): Promise<void> {
    let proof;
    try {
      proof = await verifyDpopProof(request.headers.dpop, {
        method: request.method ?? '',
        url: this.requestUrl(request),
        accessToken,
        now,
        windowSeconds: this.options.proofWindowSeconds,
      });
    } catch (error) {
      if (error instanceof DpopProofError) throw new SigauthTokenRejectedError('invalid_dpop_proof', error.message);
      throw error;
    }
    if (proof.jkt !== jkt) throw new SigauthTokenRejectedError('invalid_dpop_proof', 'the DPoP proof is not signed by the key the token is bound to');
    this.remember(`${proof.jkt}:${proof.jti}`, now);
  }

  private remember(key: string, now: number): void {
    const expiry = this.seen.get(key);
    if (expiry !== undefined && expiry > now) throw new SigauthTokenRejectedError('invalid_dpop_proof', 'the DPoP proof was already used');
    this.seen.delete(key);
    this.seen.set(key, now + this.options.proofWindowSeconds * 2000);
    for (const [oldest, until] of this.seen) {
      if (this.seen.size <= this.options.maxRememberedProofs && until > now) break;
      this.seen.delete(oldest);
    }
  }

  private requestUrl(request: SigauthRequest): string {
    const path = (request.url ?? '/').split('?')[0];
    if (this.options.publicUrl) return `${this.options.publicUrl}${path}`;
    const host = request.headers.host;
    return `${request.protocol ?? 'http'}://${typeof host === 'string' ? host : 'localhost'}${path}`;
  }
}
