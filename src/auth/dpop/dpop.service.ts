import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Clock } from '../../common/clock.js';
import { AppConfig } from '../../config/app-config.js';
import { DpopProofError, verifyDpopProof } from '@sigauth/guard/dpop';
import { SingleUseStore } from '../single-use.repository.js';
import type { ProofOfPossession } from '../../sessions/sessions.service.js';
import { DpopError } from '../../sessions/dpop.errors.js';

/** A DPoP proof whose signature, method, URL, age and `ath` hold, and whose jti is not yet recorded. */
export interface CheckedDpopProof extends ProofOfPossession {
  /** Records the proof's jti across every instance; refuses a proof that was used before. */
  spend(): Promise<void>;
}

const NO_PROOF: CheckedDpopProof = { spend: async () => undefined };

/**
 * DPoP (RFC 9449) on sigauth's own endpoints: a request that carries a `DPoP` header asks for
 * tokens bound to the proof's key. The proof must be for this request as the client addressed it
 * (PUBLIC_URL and the path), recent, and new: its `jti` is claimed once across every instance,
 * and only after everything else about the request that can be checked without a write has held.
 */
@Injectable()
export class DpopService {
  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly singleUse: SingleUseStore,
  ) {}

  /**
   * The key a request proves possession of (its thumbprint), or none when it sends no proof. With
   * an access token, the proof must also be bound to it (`ath`). Only what costs no write is
   * checked here; the proof's jti is recorded by `spend`, which the caller runs once the token or
   * login the proof accompanies has passed its own checks, so that a request refused for any
   * other reason leaves nothing behind.
   */
  async check(request: FastifyRequest, accessToken?: string): Promise<CheckedDpopProof> {
    const header = request.headers.dpop;
    if (header === undefined) return NO_PROOF;
    const now = this.clock.now();
    const windowSeconds = this.config.DPOP_PROOF_WINDOW_SECONDS;
    let proof;
    try {
      proof = await verifyDpopProof(header, { method: request.method, url: this.requestUrl(request), accessToken, now, windowSeconds });
    } catch (error) {
      if (error instanceof DpopProofError) throw new DpopError('INVALID_DPOP_PROOF', error.message);
      throw error;
    }
    const { jkt, jti, iat } = proof;
    return {
      jkt,
      spend: async () => {
        // A proof is accepted while its iat is within the window of now, so its jti is kept that long past its iat.
        const expiresAt = new Date((iat + windowSeconds) * 1000 + 1000);
        if (!(await this.singleUse.claim('dpop-proof', `${jkt}:${jti}`, expiresAt, new Date(this.clock.now())))) {
          throw new DpopError('INVALID_DPOP_PROOF', 'the DPoP proof was already used');
        }
      },
    };
  }

  /** The URL the client addressed: PUBLIC_URL (with any path prefix a proxy strips) and the route's path. */
  private requestUrl(request: FastifyRequest): string {
    const path = request.url.split('?')[0] ?? '/';
    return `${this.config.PUBLIC_URL}${path}`;
  }
}
