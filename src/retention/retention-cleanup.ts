import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { AuditRepository, monthStart } from '../audit/audit.repository.js';
import { Clock } from '../common/clock.js';
import { firstLine } from '../common/first-line.js';
import { AppConfig } from '../config/app-config.js';
import { MetricsService } from '../health/metrics.service.js';
import type { DatabaseConnection } from '../database/database-connection.js';
import { LeaderLock } from '../database/leader-lock.js';
import { DATABASE_CONNECTION } from '../database/prisma.module.js';
import { SessionCleanupRepository } from '../sessions/session-cleanup.repository.js';
import { SingleUseStore } from '../auth/single-use.repository.js';

/** The advisory lock whose holder runs the cleanup (beside Prisma's migration lock, 72707369, and the Factory follower's, 72707370). */
export const RETENTION_CLEANUP_LOCK = 72707375;

/**
 * Rows per statement. Each batch is its own short transaction that locks only the rows it
 * deletes (and skips those another statement holds), so a login, which only inserts, never waits
 * on it; bench/growth.mjs measures the wait a login sees while the cleanup runs.
 */
const BATCH = 5000;
/** PGlite serves every statement, logins included, on its one session: smaller batches keep each turn short. */
const EMBEDDED_BATCH = 500;
/** Audit partitions exist this many months ahead of the current one, so an event never waits for DDL. */
const MONTHS_AHEAD = 2;
const DAY_MS = 86_400_000;

export interface CleanupResult {
  sessions: number;
  refreshTokens: number;
  auditEvents: number;
  partitionsCreated: number;
  partitionsDropped: number;
  singleUseRecords: number;
}

type Table = 'sessions' | 'refresh_tokens' | 'audit_events' | 'single_use_records';

/**
 * Keeps what every login, refresh and request writes bounded, so the tables do not grow with traffic. Every
 * CLEANUP_INTERVAL_MS, the instance that holds an advisory lock (LeaderLock) deletes, in batches,
 * the sessions that ended more than SESSION_RETENTION seconds ago with their refresh tokens and the
 * retired refresh tokens past their expiry and grace, and the single-use records (nonces, replay
 * records, jtis) past their expiry; it creates the audit log's monthly
 * partitions ahead and drops those wholly older than AUDIT_RETENTION_DAYS. Removed rows are
 * counted in sigauth_cleanup_removed_rows_total. A failed run is logged and tried again next interval.
 */
@Injectable()
export class RetentionCleanup implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RetentionCleanup.name);
  private readonly leader: LeaderLock;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly config: AppConfig,
    private readonly sessions: SessionCleanupRepository,
    private readonly audit: AuditRepository,
    private readonly singleUse: SingleUseStore,
    private readonly metrics: MetricsService,
    private readonly clock: Clock,
    @Inject(DATABASE_CONNECTION) private readonly db: DatabaseConnection,
  ) {
    this.leader = new LeaderLock(db, RETENTION_CLEANUP_LOCK, {
      taken: () => {
        this.metrics.cleanupLeader.set(1);
        this.logger.log(`running the retention cleanup every ${config.CLEANUP_INTERVAL_MS} ms (sessions kept ${config.SESSION_RETENTION} s after they end, audit events ${config.AUDIT_RETENTION_DAYS} days)`);
      },
      lost: () => this.logger.warn('lost the cleanup lock (its database session ended); another instance may run the cleanup now'),
      released: () => this.metrics.cleanupLeader.set(0),
    });
  }

  /** Whether this instance holds the lock and runs the cleanup. */
  get leading(): boolean {
    return this.leader.held;
  }

  onApplicationBootstrap(): void {
    this.metrics.cleanupLeader.set(0);
    this.schedule();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.leader.release();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
        this.schedule();
      });
    }, this.config.CLEANUP_INTERVAL_MS);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      if (!(await this.leader.lead())) return;
      const started = performance.now();
      const result = await this.runOnce();
      this.metrics.cleanupRuns.inc({ result: 'success' });
      this.metrics.cleanupLastSuccess.set(Math.floor(this.clock.now() / 1000));
      const { sessions, refreshTokens, auditEvents, singleUseRecords } = result;
      if (sessions + refreshTokens + auditEvents + singleUseRecords > 0) {
        this.logger.debug(`retention cleanup removed ${sessions} sessions, ${refreshTokens} refresh tokens, ${singleUseRecords} single-use records and ${auditEvents} audit events in ${Math.round(performance.now() - started)} ms`);
      }
    } catch (error) {
      this.metrics.cleanupRuns.inc({ result: 'failure' });
      this.logger.warn(`retention cleanup failed: ${firstLine(error)}; next try in ${this.config.CLEANUP_INTERVAL_MS} ms`);
    }
  }

  /** One pass over everything the retention rules cover, in batches, until nothing is left or the application stops. */
  async runOnce(): Promise<CleanupResult> {
    const now = this.clock.now();
    const batch = this.db.kind === 'pglite' ? EMBEDDED_BATCH : BATCH;
    const result: CleanupResult = { sessions: 0, refreshTokens: 0, auditEvents: 0, partitionsCreated: 0, partitionsDropped: 0, singleUseRecords: 0 };

    const endedBefore = new Date(now - this.config.SESSION_RETENTION * 1000);
    await this.inBatches(batch, async () => {
      const deleted = await this.sessions.deleteEnded(endedBefore, batch);
      result.sessions += this.removed('sessions', deleted.sessions);
      result.refreshTokens += this.removed('refresh_tokens', deleted.refreshTokens);
      return deleted.sessions;
    });
    const retiredBefore = new Date(now - this.config.REFRESH_REUSE_GRACE * 1000);
    await this.inBatches(batch, async () => {
      const deleted = await this.sessions.deleteRetiredRefreshTokens(new Date(now), retiredBefore, batch);
      result.refreshTokens += this.removed('refresh_tokens', deleted);
      return deleted;
    });
    await this.inBatches(batch, async () => {
      const deleted = await this.singleUse.purgeExpired(new Date(now), batch);
      result.singleUseRecords += this.removed('single_use_records', deleted);
      return deleted;
    });
    await this.auditRetention(new Date(now), batch, result);
    return result;
  }

  /**
   * The current month and MONTHS_AHEAD more have partitions; partitions whose month ended before
   * the retention cutoff go whole, so an event is kept AUDIT_RETENTION_DAYS and at most one month
   * more. The default partition holds only events no month took (a clock far off): deleted by row.
   */
  private async auditRetention(now: Date, batch: number, result: CleanupResult): Promise<void> {
    const partitions = await this.audit.partitions();
    const present = new Set(partitions.map((p) => p.from.getTime()));
    for (let offset = 0; offset <= MONTHS_AHEAD && !this.stopped; offset++) {
      const from = monthStart(now, offset);
      if (present.has(from.getTime())) continue;
      await this.audit.createPartition(from);
      this.metrics.cleanupPartitions.inc({ action: 'created' });
      result.partitionsCreated++;
    }
    const cutoff = new Date(now.getTime() - this.config.AUDIT_RETENTION_DAYS * DAY_MS);
    for (const partition of partitions) {
      if (this.stopped || partition.to > cutoff) continue;
      result.auditEvents += this.removed('audit_events', await this.audit.dropPartition(partition));
      this.metrics.cleanupPartitions.inc({ action: 'dropped' });
      result.partitionsDropped++;
    }
    await this.inBatches(batch, async () => {
      const deleted = await this.audit.deleteUnpartitionedBefore(cutoff, batch);
      result.auditEvents += this.removed('audit_events', deleted);
      return deleted;
    });
  }

  /** Runs `step` (one batch; it returns how many rows it removed) until a batch comes back short. */
  private async inBatches(batch: number, step: () => Promise<number>): Promise<void> {
    while (!this.stopped && (await step()) >= batch);
  }

  private removed(table: Table, rows: number): number {
    if (rows > 0) this.metrics.cleanupRemoved.inc({ table }, rows);
    return rows;
  }
}
