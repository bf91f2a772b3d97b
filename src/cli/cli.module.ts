import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { ConfigModule } from '../config/config.module.js';
import { HealthModule } from '../health/health.module.js';
import { AccountsModule } from '../accounts/accounts.module.js';
import { AuditModule } from '../audit/audit.module.js';
import { ChainModule } from '../chain/chain.module.js';
import { ClockModule } from '../common/clock.module.js';
import { PrismaModule } from '../database/prisma.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsersModule } from '../users/users.module.js';

/** The services the CLI drives, without HTTP. */
@Module({})
export class CliModule {
  static forRoot(config: AppConfig): DynamicModule {
    return { module: CliModule, imports: [ConfigModule.forRoot(config), ClockModule, PrismaModule.forRoot('cli'), AuditModule, HealthModule, UsersModule, SessionsModule, AccountsModule, ChainModule] };
  }
}
