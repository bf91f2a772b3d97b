import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { PrismaClient } from '../generated/prisma/client.js';
import type { DatabaseConnection } from './database-connection.js';

/** The Prisma client on the configured driver adapter. Only repositories use it. */
@Injectable()
export class PrismaService extends PrismaClient implements OnApplicationShutdown {
  constructor(readonly connection: DatabaseConnection) {
    super({ adapter: connection.adapter });
  }

  /** The last phase of shutdown: modules flushing to the database (the audit log) have done so. */
  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
    await this.connection.close();
  }
}
