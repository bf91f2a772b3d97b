import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics of this process. With WORKERS > 1 each worker keeps its own registry, and a
 * scrape through the shared port reaches one of them: scrape each instance, or run one worker per
 * container (see README).
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'sigauth_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });

  readonly latency = new Histogram({
    name: 'sigauth_http_request_duration_seconds',
    help: 'HTTP request latency by route and method',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly refreshReuse = new Counter({
    name: 'sigauth_refresh_reuse_detected_total',
    help: 'Refresh tokens presented again after rotation (their family was revoked)',
    registers: [this.registry],
  });

  readonly rateLimited = new Counter({
    name: 'sigauth_rate_limited_total',
    help: 'Requests refused with 429, by endpoint',
    labelNames: ['endpoint'] as const,
    registers: [this.registry],
  });

  readonly auditRejected = new Counter({
    name: 'sigauth_audit_rejected_total',
    help: 'Audit events the database refused on their own, logged and set aside',
    registers: [this.registry],
  });

  readonly auditRepaired = new Counter({
    name: 'sigauth_audit_repaired_total',
    help: 'Audit strings made storable (a lone surrogate or NUL replaced) before they were written',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Called once per answered request; `route` is the route pattern, never the raw URL. */
  observe(route: string, method: string, status: number, seconds: number): void {
    this.requests.inc({ route, method, status: String(status) });
    this.latency.observe({ route, method }, seconds);
  }
}
