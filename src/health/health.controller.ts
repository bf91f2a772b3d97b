import { Controller, Get, Inject } from '@nestjs/common';
import { NotReadyError } from '../common/domain-error.js';
import { DATABASE_CONNECTION } from '../prisma/prisma.module.js';
import type { DatabaseConnection } from '../prisma/database-connection.js';
import { MigrationRunner } from '../prisma/migration-runner.js';

@Controller('health')
export class HealthController {
  constructor(
    @Inject(DATABASE_CONNECTION) private readonly db: DatabaseConnection,
    private readonly migrations: MigrationRunner,
  ) {}

  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Ready when the database answers and every migration is applied; 503 otherwise. */
  @Get('ready')
  async ready(): Promise<{ status: 'ok'; database: string; migrations: { applied: number } }> {
    let status;
    try {
      status = await this.migrations.status();
    } catch {
      throw new NotReadyError('NOT_READY', 'database unreachable');
    }
    if (status.pending.length > 0) {
      throw new NotReadyError('NOT_READY', `migrations pending: ${status.pending.join(', ')}`);
    }
    return { status: 'ok', database: this.db.kind, migrations: { applied: status.applied.length } };
  }
}
