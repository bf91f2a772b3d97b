import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { SigauthAuthGuard } from './sigauth-auth.guard.js';
import { SIGAUTH_GUARD_OPTIONS, type SigauthGuardAsyncOptions, type SigauthGuardOptions } from './sigauth-guard.options.js';
import { SigauthTokenVerifier } from './sigauth-token.verifier.js';

/**
 * Verifies sigauth's access tokens in another NestJS service. Global, so that SigauthAuthGuard can be
 * used in any module (`@UseGuards(SigauthAuthGuard)`) or for the whole application:
 * `{ provide: APP_GUARD, useExisting: SigauthAuthGuard }`.
 */
@Module({})
export class SigauthGuardModule {
  static forRoot(options: SigauthGuardOptions): DynamicModule {
    return SigauthGuardModule.with([], { provide: SIGAUTH_GUARD_OPTIONS, useValue: options });
  }

  static forRootAsync(options: SigauthGuardAsyncOptions): DynamicModule {
    return SigauthGuardModule.with(options.imports ?? [], {
      provide: SIGAUTH_GUARD_OPTIONS,
      useFactory: options.useFactory,
      inject: options.inject ?? [],
    });
  }

  private static with(imports: DynamicModule['imports'], optionsProvider: Provider): DynamicModule {
    return {
      module: SigauthGuardModule,
      global: true,
      imports,
      providers: [optionsProvider, SigauthTokenVerifier, SigauthAuthGuard],
      exports: [SigauthTokenVerifier, SigauthAuthGuard],
    };
  }
}
