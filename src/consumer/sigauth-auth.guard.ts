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

// RFC 6750 section 2.1: the b64token syntax of a bearer credential.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

function bearerToken(header: string | string[] | undefined): string | undefined {
  return typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
}

/** RFC 6750 section 3: a 401 or 403 names the scheme; the body stays the service's own filter's business. */
function challenge(response: unknown, value: string): void {
  const reply = response as { header?: (name: string, value: string) => unknown };
  if (typeof reply.header === 'function') reply.header('WWW-Authenticate', value);
}

/**
 * Admits HTTP requests that carry a live sigauth access token (`Authorization: Bearer <token>`) and,
 * under @Roles, one of those roles; puts the verified claims on `request.user`. Missing or refused
 * token: 401; wrong role: 403; sigauth unreachable when it had to be consulted: 503. Routes marked
 * @Public pass without a token.
 */
@Injectable()
export class SigauthAuthGuard implements CanActivate {
  constructor(
    private readonly verifier: SigauthTokenVerifier,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean | undefined>(SIGAUTH_PUBLIC_KEY, targets)) return true;
    // Fail closed: a WebSocket or RPC handler has no Authorization header this guard could check.
    if (context.getType() !== 'http') throw new Error(`SigauthAuthGuard guards HTTP handlers only, not ${context.getType()}`);

    const http = context.switchToHttp();
    const request = http.getRequest<SigauthRequest>();
    const token = bearerToken(request.headers.authorization);
    if (!token) {
      challenge(http.getResponse(), 'Bearer');
      throw new UnauthorizedException('a bearer access token is required');
    }
    const principal = await this.verify(token, http.getResponse());
    request.user = principal;

    const roles = this.reflector.getAllAndOverride<readonly string[] | undefined>(SIGAUTH_ROLES_KEY, targets);
    if (roles && !roles.includes(principal.role)) {
      challenge(http.getResponse(), 'Bearer error="insufficient_scope"');
      throw new ForbiddenException(`this route requires one of the roles ${roles.join(', ')}`);
    }
    return true;
  }

  private async verify(token: string, response: unknown): Promise<SigauthPrincipal> {
    try {
      return await this.verifier.verify(token);
    } catch (error) {
      if (error instanceof SigauthTokenRejectedError) {
        challenge(response, 'Bearer error="invalid_token"');
        throw new UnauthorizedException(error.message);
      }
      if (error instanceof SigauthUnavailableError) throw new ServiceUnavailableException('the token could not be verified, try again later');
      throw error;
    }
  }
}
