import { SetMetadata } from '@nestjs/common';
import type { Role } from '../users/user.types.js';

export const ROLES_KEY = 'sigauth:roles';

/** Restricts a route guarded by AccessTokenGuard to callers holding one of these roles. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);
