import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { SigauthAuthGuard, SigauthGuardModule } from '@sigauth/guard';
import { AppController } from './app.controller.js';
import { guardOptions, type ConsumerConfig } from './consumer-config.js';

@Module({})
export class AppModule {
  static forRoot(config: ConsumerConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [SigauthGuardModule.forRoot(guardOptions(config))],
      controllers: [AppController],
      // Every route needs a token unless it is marked @Public().
      providers: [{ provide: APP_GUARD, useExisting: SigauthAuthGuard }],
    };
  }
}
