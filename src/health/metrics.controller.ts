import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '../http/openapi-decorators.js';
import type { FastifyReply } from 'fastify';
import { ApiEnvelopeCommonErrors } from '../http/openapi.js';
import { ENVELOPE_STATUS_TABLE } from '../http/envelope-status-table.js';
import { ApiStatusTable } from '../http/status-table.js';
import { MetricsService } from './metrics.service.js';

const EXAMPLE = `# HELP sigauth_http_requests_total HTTP requests by route, method and status
# TYPE sigauth_http_requests_total counter
sigauth_http_requests_total{route="/auth/api/v1/authentication-management/session",method="POST",status="200"} 42
`;

@ApiTags('Operations')
@ApiStatusTable(ENVELOPE_STATUS_TABLE)
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  /** Prometheus text exposition. */
  @Get()
  @ApiOperation({ summary: 'Prometheus metrics of this process: requests and outcomes per route, latency, refresh reuse, rate limiting' })
  @ApiResponse({ status: 200, description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' }, example: EXAMPLE } } })
  @ApiEnvelopeCommonErrors()
  async metricsText(@Res() reply: FastifyReply): Promise<void> {
    await reply.header('content-type', this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
  }
}
