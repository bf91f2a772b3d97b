import { applyDecorators, HttpCode, Injectable, mixin, Post, UseGuards, type CanActivate, type ExecutionContext, type Type } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { RateLimiterService, type RateLimitedEndpoint } from './rate-limiter.service.js';
import { SmallBody } from '../http/request-body.js';

/** Per-address budget for a credential endpoint that has no login strategy (refresh, challenge). */
export function RateLimit(endpoint: RateLimitedEndpoint, identity?: (request: FastifyRequest) => string | undefined): Type<CanActivate> {
  @Injectable()
  class RateLimitGuard implements CanActivate {
    constructor(private readonly limiter: RateLimiterService) {}

    async canActivate(context: ExecutionContext): Promise<boolean> {
      const request = context.switchToHttp().getRequest<FastifyRequest>();
      await this.limiter.takeRequest(endpoint, request.ip, identity?.(request));
      return true;
    }
  }
  return mixin(RateLimitGuard);
}

/**
 * A credential route without a login proof (a refresh, a nonce): `method` on `path`, answering 200
 * (not Nest's 201 for a POST), within the address's budget for `endpoint`.
 */
export function RateLimitedRoute(method: typeof Post, path: string, endpoint: RateLimitedEndpoint, identity?: (request: FastifyRequest) => string | undefined): MethodDecorator {
  return applyDecorators(method(path), HttpCode(200), SmallBody(), UseGuards(RateLimit(endpoint, identity)));
}
