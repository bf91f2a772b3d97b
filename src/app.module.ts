import { DynamicModule, Module } from '@nestjs/common';
import { AdminModule } from './admin/admin.module.js';
import { FibModule } from './apis/fib/fib.module.js';
import { OAuthModule } from './apis/oauth/oauth.module.js';
import { ServiceAccountModule } from './apis/service-account/service-account.module.js';
import { WalletModule } from './apis/wallet/wallet.module.js';
import { AuditModule } from './audit/audit.module.js';
import { FactoryFollowerModule } from './chain/factory-follower.module.js';
import { ClockModule } from './common/clock.module.js';
import { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { HealthModule } from './health/health.module.js';
import { HttpModule } from './http/http.module.js';
import { MeModule } from './me/me.module.js';
import { PrismaModule } from './database/prisma.module.js';
import { RateLimitModule } from './rate-limit/rate-limit.module.js';
import { RetentionModule } from './retention/retention.module.js';
import { SessionsModule } from './sessions/sessions.module.js';
import { UsersModule } from './users/users.module.js';

@Module({})
export class AppModule {
  /** The whole service. Tests pass their configuration; production reads the environment. */
  static forRoot(config?: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ClockModule,
        HttpModule,
        PrismaModule.forRoot('server'),
        AuditModule,
        RateLimitModule,
        UsersModule,
        SessionsModule,
        FibModule,
        WalletModule,
        ServiceAccountModule,
        OAuthModule,
        AdminModule,
        MeModule,
        HealthModule,
        FactoryFollowerModule,
        RetentionModule,
      ],
    };
  }
}
