import { DynamicModule, Inject, Logger, Module, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { openDatabase, type DatabaseConnection, type DatabaseRole } from './database-connection.js';
import { MigrationRunner, readMigrations } from './migration-runner.js';
import { migrationsDir } from './migrations-dir.js';
import { PrismaService } from './prisma.service.js';

export const DATABASE_CONNECTION = Symbol('DATABASE_CONNECTION');

@Module({})
export class PrismaModule implements OnModuleInit {
  private readonly logger = new Logger(PrismaModule.name);

  constructor(
    private readonly config: AppConfig,
    private readonly migrations: MigrationRunner,
    @Inject(DATABASE_CONNECTION) private readonly connection: DatabaseConnection,
  ) {}

  /** The server owns an embedded database and serves it to the CLI; the CLI reaches it through the server when one runs. */
  static forRoot(role: DatabaseRole): DynamicModule {
    return {
      module: PrismaModule,
      global: true,
      providers: [
        { provide: DATABASE_CONNECTION, inject: [AppConfig], useFactory: (config: AppConfig) => openDatabase(config, role) },
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
    };
  }

  async onModuleInit(): Promise<void> {
    if (this.config.MIGRATE_ON_START) {
      const applied = await this.migrations.migrate();
      if (applied.length > 0) this.logger.log(`applied migrations on ${this.connection.kind}: ${applied.join(', ')}`);
    }
    // Only once migrated: a CLI command arriving through the socket finds the schema the server runs on.
    await this.connection.serveLocalClients?.();
  }
}
