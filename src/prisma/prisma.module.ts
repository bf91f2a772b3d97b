import { Global, Inject, Logger, Module, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { openDatabase, type DatabaseConnection } from './database-connection.js';
import { MigrationRunner, readMigrations } from './migration-runner.js';
import { migrationsDir } from './migrations-dir.js';
import { PrismaService } from './prisma.service.js';

export const DATABASE_CONNECTION = Symbol('DATABASE_CONNECTION');

@Global()
@Module({
  providers: [
    { provide: DATABASE_CONNECTION, inject: [AppConfig], useFactory: (config: AppConfig) => openDatabase(config) },
    {
      provide: PrismaService,
      inject: [DATABASE_CONNECTION],
      useFactory: (connection: DatabaseConnection) => new PrismaService(connection),
    },
    {
      provide: MigrationRunner,
      inject: [DATABASE_CONNECTION],
      useFactory: (connection: DatabaseConnection) => new MigrationRunner(connection, readMigrations(migrationsDir())),
    },
  ],
  exports: [PrismaService, MigrationRunner, DATABASE_CONNECTION],
})
export class PrismaModule implements OnModuleInit {
  private readonly logger = new Logger(PrismaModule.name);

  constructor(
    private readonly config: AppConfig,
    private readonly migrations: MigrationRunner,
    @Inject(DATABASE_CONNECTION) private readonly connection: DatabaseConnection,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.config.MIGRATE_ON_START) return;
    const applied = await this.migrations.migrate();
    if (applied.length > 0) this.logger.log(`applied migrations on ${this.connection.kind}: ${applied.join(', ')}`);
  }
}
