import { Injectable, Logger, type BeforeApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { firstLine } from '../common/first-line.js';
import { MetricsService } from '../health/metrics.service.js';
import { currentRequest } from '../http/request-context.js';
import { AuditRepository, type AuditRow } from './audit.repository.js';
import { StorableStrings } from './storable-strings.js';
import type { AuditEvent, AuditEventInput, AuditQuery } from './audit.types.js';

const FLUSH_INTERVAL_MS = 200;
const MAX_BATCH = 1000;
/** Beyond this many unwritten events (the database down for long), the oldest are dropped and counted. */
const MAX_PENDING = 100_000;

/**
 * The database refused what was sent (SQLSTATE class 22 data exception, 23 integrity, 54 a limit),
 * or it could not be sent at all: retrying the same rows would fail the same way.
 */
function refusedData(error: unknown): boolean {
  if (error instanceof TypeError || error instanceof RangeError) return true;
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && /^(22|23|54)[0-9A-Z]{3}$/.test(code);
}

/**
 * Records audit events without making requests wait for them: events are queued in memory and
 * written in batches every 200 ms, and the queue is flushed when the application shuts down.
 * Every string is made storable first (well-formed, no NUL, bounded). A batch the database cannot
 * take now (it is unreachable) is kept for the next attempt; a batch whose data it refuses is
 * split until the refused row stands alone, and that row is logged, counted and set aside, so
 * that one bad event never holds back another.
 */
@Injectable()
export class AuditService implements OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger(AuditService.name);
  private pending: AuditRow[] = [];
  private flushing?: Promise<void>;
  private dropped = 0;
  /** After a failed write, the next timer-driven attempt waits: 200 ms doubling up to 10 s (elapsed time, not the clock events are dated by). */
  private backoffMs = 0;
  private nextAttemptAt = 0;
  private readonly timer: NodeJS.Timeout;

  private readonly strings: StorableStrings;

  constructor(
    private readonly repository: AuditRepository,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
  ) {
    this.strings = new StorableStrings(() => metrics.auditRepaired.inc());
    this.timer = setInterval(() => {
      if (performance.now() >= this.nextAttemptAt) void this.flush();
    }, FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  record(event: AuditEventInput): void {
    const request = currentRequest();
    this.pending.push({
      type: event.type,
      outcome: event.outcome,
      reason: this.strings.text(event.reason),
      userId: event.userId,
      principal: this.strings.text(event.principal),
      sessionId: event.sessionId,
      details: event.details && (this.strings.json(event.details) as Record<string, unknown>),
      occurredAt: new Date(this.clock.now()),
      ip: this.strings.text(request?.ip) ?? null,
      userAgent: this.strings.text(request?.userAgent) ?? null,
      requestId: this.strings.text(request?.requestId) ?? null,
    });
    if (this.pending.length > MAX_PENDING) {
      this.dropped += this.pending.length - MAX_PENDING;
      this.pending.splice(0, this.pending.length - MAX_PENDING);
    }
    if (this.pending.length >= MAX_BATCH && performance.now() >= this.nextAttemptAt) void this.flush();
  }

  /** Writes everything queued so far; concurrent callers share one write. */
  flush(): Promise<void> {
    this.flushing ??= this.writePending().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  find(query: AuditQuery): Promise<AuditEvent[]> {
    return this.repository.find(query);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.drain();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.drain();
  }

  private async drain(): Promise<void> {
    // A flush in progress may have left events queued behind it.
    for (let attempt = 0; attempt < 3 && (this.pending.length > 0 || this.flushing); attempt++) await this.flush();
    if (this.pending.length > 0) this.logger.error(`${this.pending.length} audit events could not be written at shutdown`);
  }

  private async writePending(): Promise<void> {
    while (this.pending.length > 0) {
      // Parts still to write, in order: a batch, or the halves of one whose data was refused.
      const parts = [this.pending.splice(0, MAX_BATCH)];
      while (parts.length > 0) {
        const part = parts.shift()!;
        try {
          await this.repository.insertMany(part);
        } catch (error) {
          if (!refusedData(error)) {
            this.pending.unshift(...part, ...parts.flat());
            this.backoffMs = Math.min(Math.max(this.backoffMs * 2, FLUSH_INTERVAL_MS), 10_000);
            this.nextAttemptAt = performance.now() + this.backoffMs;
            this.logger.warn(`audit write failed, ${this.pending.length} events kept for retry: ${firstLine(error)}`);
            return;
          }
          if (part.length === 1) this.setAside(part[0]!, error);
          else parts.unshift(part.slice(0, Math.ceil(part.length / 2)), part.slice(Math.ceil(part.length / 2)));
        }
      }
    }
    this.backoffMs = 0;
    this.nextAttemptAt = 0;
    if (this.dropped > 0) {
      this.logger.error(`${this.dropped} audit events were dropped while the database was unavailable`);
      this.dropped = 0;
    }
  }

  /** A row the database refuses on its own: logged in full (audit rows hold no credential), counted, not retried. */
  private setAside(row: AuditRow, error: unknown): void {
    this.metrics.auditRejected.inc();
    this.logger.error({ event: { ...row, occurredAt: row.occurredAt.toISOString() }, reason: firstLine(error) }, 'audit event refused by the database, set aside');
  }
}
