import { SetMetadata } from '@nestjs/common';
import type { SigauthRole } from './sigauth-principal.js';

export const SIGAUTH_ROLES_KEY = 'sigauth-guard:roles';

/** Admits only callers whose token carries one of these roles (403 otherwise); on a handler it overrides its class. */
export const Roles = (...roles: SigauthRole[]) => SetMetadata(SIGAUTH_ROLES_KEY, roles);
