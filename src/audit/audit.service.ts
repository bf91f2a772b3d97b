import { Injectable, Logger, type BeforeApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { currentRequest } from '../http/request-context.js';
import { AuditRepository, type AuditRow } from './audit.repository.js';
import type { AuditEvent, AuditEventInput, AuditQuery } from './audit.types.js';
import { firstLine } from '../common/first-line.js';

const FLUSH_INTERVAL_MS = 200;

/**
 * What PostgreSQL text and jsonb can hold: without U+0000 (and its JSON escape), which a client
 * can put in a claimed identity. One such value would make its whole batch unwritable.
 */
function storable<T extends string | null | undefined>(value: T): T {
  return (typeof value === 'string' ? value.replaceAll('\u0000', '\uFFFD').slice(0, 1024) : value) as T;
}

function storableJson(value: unknown): unknown {
  if (typeof value === 'string') return storable(value);
  if (Array.isArray(value)) return value.map(storableJson);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [storable(k), storableJson(v)]));
  return value;
}
const MAX_BATCH = 1000;
/** Beyond this many unwritten events (the database down for long), the oldest are dropped and counted. */
const MAX_PENDING = 100_000;

/**
 * Records audit events without making requests wait for them: events are queued in memory and
 * written in batches every 200 ms, and the queue is flushed when the application shuts down.
 * A failed write keeps its events queued for the next attempt.
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

  constructor(
    private readonly repository: AuditRepository,
    private readonly clock: Clock,
  ) {
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
      reason: storable(event.reason),
      userId: event.userId,
      principal: storable(event.principal),
      sessionId: event.sessionId,
      details: event.details && (storableJson(event.details) as Record<string, unknown>),
      occurredAt: new Date(this.clock.now()),
      ip: storable(request?.ip) ?? null,
      userAgent: storable(request?.userAgent) ?? null,
      requestId: storable(request?.requestId) ?? null,
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
      const batch = this.pending.splice(0, MAX_BATCH);
      try {
        await this.repository.insertMany(batch);
      } catch (error) {
        this.pending.unshift(...batch);
        this.backoffMs = Math.min(Math.max(this.backoffMs * 2, FLUSH_INTERVAL_MS), 10_000);
        this.nextAttemptAt = performance.now() + this.backoffMs;
        this.logger.warn(`audit write failed, ${this.pending.length} events kept for retry: ${firstLine(error)}`);
        return;
      }
    }
    this.backoffMs = 0;
    this.nextAttemptAt = 0;
    if (this.dropped > 0) {
      this.logger.error(`${this.dropped} audit events were dropped while the database was unavailable`);
      this.dropped = 0;
    }
  }
}
