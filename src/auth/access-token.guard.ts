import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { authorizationToken } from '../http/authorization-header.js';
import { RequestError } from '../common/domain-error.js';
import type { Role } from '../users/user.types.js';
import { DpopService } from './dpop/dpop.service.js';
import { assertRole, ROLES_KEY } from './roles.decorator.js';
import { SessionsService } from '../sessions/sessions.service.js';
import type { AccessClaims } from '../tokens/token.types.js';

export type AuthenticatedRequest = FastifyRequest & { principal: AccessClaims };

/**
 * Admits a live access token (signature, expiry, session not revoked; a DPoP-bound one under the
 * DPoP scheme with a proof by its key) and, with @Roles, one of those roles. A DPoP proof's jti is
 * recorded last, once all of that holds: a request with a forged or ended token, or without the
 * role, writes nothing.
 */
@Injectable()
export class AccessTokenGuard implements CanActivate {
  constructor(
    private readonly sessions: SessionsService,
    private readonly reflector: Reflector,
    private readonly dpop: DpopService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const presented = authorizationToken(request.headers.authorization);
    if (!presented) throw new RequestError('UNAUTHENTICATED', 'an access token is required (Authorization: Bearer <token>)');
    const proof = await this.dpop.check(request, presented.token);
    const principal = await this.sessions.authenticate(presented, { jkt: proof.jkt });
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, [context.getHandler(), context.getClass()]);
    if (roles) assertRole(roles, principal.role);
    await proof.spend();
    request.principal = principal;
    return true;
  }
}
