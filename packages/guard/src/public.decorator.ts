import { SetMetadata } from '@nestjs/common';

export const SIGAUTH_PUBLIC_KEY = 'sigauth-guard:public';

/** Lets a route through SigauthAuthGuard without a token, for when the guard is global (APP_GUARD). */
export const Public = () => SetMetadata(SIGAUTH_PUBLIC_KEY, true);
