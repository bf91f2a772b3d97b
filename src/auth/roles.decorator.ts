import { RequestError } from '../common/domain-error.js';
import { SetMetadata } from '@nestjs/common';
import type { Role } from '../users/user.types.js';

export const ROLES_KEY = 'sigauth:roles';

/** Restricts a route guarded by AccessTokenGuard to callers holding one of these roles. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

/** Refuses a principal whose role is not one of `roles` (a route's 403). */
export function assertRole(roles: readonly Role[], role: Role): void {
  if (!roles.includes(role)) throw new RequestError('FORBIDDEN', `this route needs one of the roles ${roles.join(', ')}`);
}
