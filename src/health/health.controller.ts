import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '../http/openapi-decorators.js';
import { NotReadyError } from '../common/domain-error.js';
import { ApiEnvelopeCommonErrors, ApiEnvelopeError, ApiJsonResponse } from '../http/openapi.js';
import { ENVELOPE_STATUS_TABLE } from '../http/envelope-status-table.js';
import { ApiStatusTable } from '../http/status-table.js';
import { DATABASE_CONNECTION } from '../database/prisma.module.js';
import type { DatabaseConnection } from '../database/database-connection.js';
import { MigrationRunner } from '../database/migration-runner.js';

@ApiTags('Operations')
@ApiStatusTable(ENVELOPE_STATUS_TABLE)
@Controller('health')
export class HealthController {
  constructor(
    @Inject(DATABASE_CONNECTION) private readonly db: DatabaseConnection,
    private readonly migrations: MigrationRunner,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process answers' })
  @ApiJsonResponse(200, 'Alive', { status: 'ok' })
  @ApiEnvelopeCommonErrors()
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Ready when the database answers and every migration is applied; 503 otherwise. */
  @Get('ready')
  @ApiOperation({ summary: 'Readiness: the database answers and every migration is applied' })
  @ApiJsonResponse(200, 'Ready', { status: 'ok', database: 'postgresql', migrations: { applied: 3 } })
  @ApiEnvelopeError(503, 'ServiceUnavailable', 'migrations pending: 20250101000000_init', 'the database is unreachable or migrations are pending')
  @ApiEnvelopeCommonErrors()
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
