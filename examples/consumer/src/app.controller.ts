import { Controller, Get } from '@nestjs/common';
import { CurrentPrincipal, Public, Roles, type SigauthPrincipal } from '@sigauth/guard';

/** Three routes, one per case: any signed-in caller, admins only, everyone. */
@Controller()
export class AppController {
  @Get('profile')
  profile(@CurrentPrincipal() principal: SigauthPrincipal): SigauthPrincipal {
    return principal;
  }

  @Roles('ROLE_ADMIN')
  @Get('admin')
  admin(@CurrentPrincipal('sub') email: string): { admin: string } {
    return { admin: email };
  }

  @Public()
  @Get('public')
  public(): { public: true } {
    return { public: true };
  }
}
