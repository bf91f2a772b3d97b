import {
  ForbiddenException,
  Injectable,
  ServiceUnavailableException,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SIGAUTH_PUBLIC_KEY } from './public.decorator.js';
import { SIGAUTH_ROLES_KEY } from './roles.decorator.js';
import type { SigauthPrincipal, SigauthRequest } from './sigauth-principal.js';
import { SigauthTokenRejectedError, SigauthUnavailableError } from './sigauth-token.errors.js';
import { SigauthTokenVerifier } from './sigauth-token.verifier.js';
import { DpopProofChecker } from './dpop-proof-checker.js';

// RFC 6750 section 2.1 and RFC 9449 section 7.1: the b64token syntax of a Bearer or DPoP credential.
const CREDENTIAL = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*) *$/i;

function presentedToken(header: string | string[] | undefined): { scheme: 'bearer' | 'dpop'; token: string } | undefined {
  const match = typeof header === 'string' ? CREDENTIAL.exec(header) : null;
  return match ? { scheme: match[1]!.toLowerCase() as 'bearer' | 'dpop', token: match[2]! } : undefined;
}

const ALGS = 'algs="EdDSA Ed25519 ES256"';
const CHALLENGE = `Bearer, DPoP ${ALGS}`;

/** RFC 6750 section 3: a 401 or 403 names the scheme; the body stays the service's own filter's business. */
function challenge(response: unknown, value: string): void {
  const reply = response as { header?: (name: string, value: string) => unknown };
  if (typeof reply.header === 'function') reply.header('WWW-Authenticate', value);
}

/**
 * Admits HTTP requests that carry a live sigauth access token (`Authorization: Bearer <token>`, or
 * for a DPoP-bound token `Authorization: DPoP <token>` with its `DPoP` proof) and, under @Roles,
 * one of those roles; puts the verified claims on `request.user`. Missing or refused token: 401;
 * wrong role: 403; sigauth unreachable when it had to be consulted: 503. Routes marked @Public
 * pass without a token.
 */
@Injectable()
export class SigauthAuthGuard implements CanActivate {
  private readonly dpop: DpopProofChecker;

  constructor(
    private readonly verifier: SigauthTokenVerifier,
    private readonly reflector: Reflector,
  ) {
    this.dpop = new DpopProofChecker(verifier.dpopOptions);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean | undefined>(SIGAUTH_PUBLIC_KEY, targets)) return true;
    // Fail closed: a WebSocket or RPC handler has no Authorization header this guard could check.
    if (context.getType() !== 'http') throw new Error(`SigauthAuthGuard guards HTTP handlers only, not ${context.getType()}`);

    const http = context.switchToHttp();
    const request = http.getRequest<SigauthRequest>();
    const presented = presentedToken(request.headers.authorization);
    if (!presented) {
      challenge(http.getResponse(), CHALLENGE);
      throw new UnauthorizedException('an access token is required (Authorization: Bearer, or DPoP for a bound token)');
    }
    const principal = await this.verify(presented, http.getResponse());
    await this.checkBinding(request, presented, principal, http.getResponse());
    request.user = principal;

    const roles = this.reflector.getAllAndOverride<readonly string[] | undefined>(SIGAUTH_ROLES_KEY, targets);
    if (roles && !roles.includes(principal.role)) {
      challenge(http.getResponse(), 'Bearer error="insufficient_scope"');
      throw new ForbiddenException(`this route requires one of the roles ${roles.join(', ')}`);
    }
    return true;
  }

  /** A DPoP-bound token only with its proof; the DPoP scheme only for a bound token (RFC 9449 section 7.1). */
  private async checkBinding(request: SigauthRequest, presented: { scheme: string; token: string }, principal: SigauthPrincipal, response: unknown): Promise<void> {
    const jkt = principal.cnf?.jkt;
    if (jkt === undefined && presented.scheme === 'bearer') return;
    try {
      if (jkt === undefined) throw new SigauthTokenRejectedError('invalid', 'the DPoP scheme is for DPoP-bound tokens; send this token as Bearer');
      if (presented.scheme !== 'dpop') throw new SigauthTokenRejectedError('invalid', 'the token is DPoP-bound: send Authorization: DPoP with a DPoP proof');
      await this.dpop.check(request, presented.token, jkt);
    } catch (error) {
      if (error instanceof SigauthTokenRejectedError) {
        challenge(response, `DPoP error="${error.reason === 'invalid_dpop_proof' ? 'invalid_dpop_proof' : 'invalid_token'}", ${ALGS}`);
        throw new UnauthorizedException(error.message);
      }
      throw error;
    }
  }

  /** A refused token is challenged in the scheme it came under (RFC 6750 section 3, RFC 9449 section 7.1). */
  private async verify(presented: { scheme: 'bearer' | 'dpop'; token: string }, response: unknown): Promise<SigauthPrincipal> {
    try {
      return await this.verifier.verify(presented.token);
    } catch (error) {
      if (error instanceof SigauthTokenRejectedError) {
        challenge(response, presented.scheme === 'dpop' ? `DPoP error="invalid_token", ${ALGS}` : 'Bearer error="invalid_token"');
        throw new UnauthorizedException(error.message);
      }
      if (error instanceof SigauthUnavailableError) throw new ServiceUnavailableException('the token could not be verified, try again later');
      throw error;
    }
  }
}
