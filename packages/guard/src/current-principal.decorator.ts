import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { SigauthPrincipal, SigauthRequest } from './sigauth-principal.js';

/**
 * The principal SigauthAuthGuard verified (`request.user`), or one of its claims:
 * `@CurrentPrincipal() principal: SigauthPrincipal`, `@CurrentPrincipal('sub') email: string`.
 */
export const CurrentPrincipal = createParamDecorator(
  (claim: keyof SigauthPrincipal | undefined, context: ExecutionContext) => {
    const principal = context.switchToHttp().getRequest<SigauthRequest>().user;
    return claim ? principal?.[claim] : principal;
  },
);
