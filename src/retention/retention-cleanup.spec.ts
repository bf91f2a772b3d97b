import { monthStart, type AuditPartition, type AuditRepository } from '../audit/audit.repository.js';
import { Clock } from '../common/clock.js';
import { loadConfig } from '../config/app-config.js';
import { MetricsService } from '../health/metrics.service.js';
import type { DatabaseConnection } from '../database/database-connection.js';
import type { SessionCleanupRepository } from '../sessions/session-cleanup.repository.js';
import type { SingleUseStore } from '../auth/single-use.repository.js';
import { RetentionCleanup } from './retention-cleanup.js';

const NOW = Date.UTC(2026, 11, 4, 12, 0, 0);

/** Ended sessions and retired tokens as plain counts, handed out a batch at a time, as the statements would. */
class FakeSessions {
  ended = 12_345;
  tokensPerSession = 2;
  retired = 5_001;
  readonly calls: { endedBefore?: Date; expiredBefore?: Date; retiredBefore?: Date; limit: number }[] = [];

  async deleteEnded(endedBefore: Date, limit: number) {
    this.calls.push({ endedBefore, limit });
    const sessions = Math.min(limit, this.ended);
    this.ended -= sessions;
    return { sessions, refreshTokens: sessions * this.tokensPerSession };
  }

  async deleteRetiredRefreshTokens(expiredBefore: Date, retiredBefore: Date, limit: number) {
    this.calls.push({ expiredBefore, retiredBefore, limit });
    const n = Math.min(limit, this.retired);
    this.retired -= n;
    return n;
  }
}

/** Expired single-use records as a count, purged a batch at a time. */
class FakeSingleUse {
  expired = 10_250;
  readonly calls: { now: Date; limit: number }[] = [];

  async purgeExpired(now: Date, limit: number) {
    this.calls.push({ now, limit });
    const n = Math.min(limit, this.expired);
    this.expired -= n;
    return n;
  }
}

class FakeAudit {
  partitionsHeld: AuditPartition[];
  readonly created: Date[] = [];
  readonly dropped: string[] = [];
  unpartitionedOld = 7;

  constructor(months: Date[]) {
    this.partitionsHeld = months.map((from) => ({ name: `p${from.toISOString().slice(0, 7)}`, from, to: monthStart(from, 1) }));
  }
  async partitions() {
    return [...this.partitionsHeld];
  }
  async createPartition(from: Date) {
    this.created.push(from);
  }
  async dropPartition(partition: AuditPartition) {
    this.dropped.push(partition.name);
    return 1000;
  }
  async deleteUnpartitionedBefore(_before: Date, limit: number) {
    const n = Math.min(limit, this.unpartitionedOld);
    this.unpartitionedOld -= n;
    return n;
  }
}

const sample = async (metrics: MetricsService, name: string, labels: Record<string, string>) =>
  (await metrics.registry.getSingleMetric(name)!.get()).values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;

describe('RetentionCleanup.runOnce', () => {
  const clock = new Clock();
  clock.now = () => NOW;
  const setup = (env: Record<string, string>, months: Date[], kind: DatabaseConnection['kind'] = 'postgresql') => {
    const sessions = new FakeSessions();
    const audit = new FakeAudit(months);
    const singleUse = new FakeSingleUse();
    const metrics = new MetricsService();
    const cleanup = new RetentionCleanup(
      loadConfig(env),
      sessions as unknown as SessionCleanupRepository,
      audit as unknown as AuditRepository,
      singleUse as unknown as SingleUseStore,
      metrics,
      clock,
      { kind } as DatabaseConnection,
    );
    return { sessions, audit, singleUse, metrics, cleanup };
  };

  it('deletes in batches of 5,000 until a batch comes back short, with the cutoffs of the retention settings', async () => {
    const { sessions, metrics, cleanup } = setup({ SESSION_RETENTION: '3600', REFRESH_REUSE_GRACE: '10' }, []);
    const result = await cleanup.runOnce();
    expect(result).toMatchObject({ sessions: 12_345, refreshTokens: 24_690 + 5_001, auditEvents: 7 });
    const ended = sessions.calls.filter((c) => c.endedBefore);
    expect(ended.map((c) => c.limit)).toEqual([5000, 5000, 5000]);
    expect(ended[0]!.endedBefore).toEqual(new Date(NOW - 3600_000));
    const retired = sessions.calls.filter((c) => c.retiredBefore);
    expect(retired).toHaveLength(2);
    expect(retired[0]).toMatchObject({ expiredBefore: new Date(NOW), retiredBefore: new Date(NOW - 10_000) });
    expect(await sample(metrics, 'sigauth_cleanup_removed_rows_total', { table: 'sessions' })).toBe(12_345);
    expect(await sample(metrics, 'sigauth_cleanup_removed_rows_total', { table: 'refresh_tokens' })).toBe(29_691);
  });

  it('purges the single-use records whose time is over, in batches, until a batch comes back short', async () => {
    const { singleUse, metrics, cleanup } = setup({}, []);
    const result = await cleanup.runOnce();
    expect(result).toMatchObject({ singleUseRecords: 10_250 });
    expect(singleUse.calls).toEqual([5000, 5000, 5000].map((limit) => ({ now: new Date(NOW), limit })));
    expect(await sample(metrics, 'sigauth_cleanup_removed_rows_total', { table: 'single_use_records' })).toBe(10_250);
  });

  it('takes smaller batches on PGlite, whose one session serves the logins too', async () => {
    const { sessions, cleanup } = setup({}, [], 'pglite');
    await cleanup.runOnce();
    expect(sessions.calls[0]!.limit).toBe(500);
  });

  it('creates the partitions of this month and the next two, and drops those whose month ended before the cutoff', async () => {
    const now = new Date(NOW);
    // December 2026 now; with 30 days' retention the cutoff is 4 November: October goes, November stays.
    const { audit, metrics, cleanup } = setup({ AUDIT_RETENTION_DAYS: '30' }, [monthStart(now, -3), monthStart(now, -2), monthStart(now, -1), monthStart(now, 0)]);
    const result = await cleanup.runOnce();
    expect(audit.created).toEqual([monthStart(now, 1), monthStart(now, 2)]);
    expect(audit.dropped).toEqual(['p2026-09', 'p2026-10']);
    expect(result).toMatchObject({ partitionsCreated: 2, partitionsDropped: 2, auditEvents: 2007 });
    expect(await sample(metrics, 'sigauth_cleanup_audit_partitions_total', { action: 'dropped' })).toBe(2);
    expect(await sample(metrics, 'sigauth_cleanup_removed_rows_total', { table: 'audit_events' })).toBe(2007);
  });
});
