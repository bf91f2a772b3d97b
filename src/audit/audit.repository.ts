import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { AuditEvent, AuditEventType, AuditQuery } from './audit.types.js';

export type AuditRow = Omit<AuditEvent, 'id'>;

/** A monthly partition of audit_events: the events of [from, to), UTC. */
export interface AuditPartition {
  name: string;
  from: Date;
  to: Date;
}

/** Monthly partitions are named audit_events_pYYYYMM (see the bounded_growth migration); the service creates and drops only these. */
const MONTHLY_PARTITION = /^audit_events_p(\d{4})(\d{2})$/;

/**
 * Partition DDL takes locks on audit_events that the background audit writer and the admin's
 * audit reads then queue behind (never a login: it only queues an event in memory). It gives up
 * after this rather than wait behind a long read; the next cleanup tries again.
 */
const PARTITION_LOCK_TIMEOUT_MS = 2000;

/** The first instant (UTC) of the month `offset` months after the one that holds `at`. */
export function monthStart(at: Date, offset = 0): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + offset, 1));
}

function partitionName(from: Date): string {
  return `audit_events_p${from.getUTCFullYear()}${String(from.getUTCMonth() + 1).padStart(2, '0')}`;
}

@Injectable()
export class AuditRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * One statement for the whole batch, the rows passed as one JSON parameter. Every login writes an
   * event, so this is on the hot path's budget: through Prisma, a batch's query compilation and
   * parameter handling were a quarter of a login's CPU in a profile.
   */
  async insertMany(events: AuditRow[]): Promise<void> {
    const rows = events.map((e) => ({
      occurred_at: e.occurredAt.toISOString(),
      type: e.type,
      outcome: e.outcome,
      reason: e.reason ?? null,
      user_id: e.userId ?? null,
      principal: e.principal ?? null,
      session_id: e.sessionId ?? null,
      ip: e.ip,
      user_agent: e.userAgent,
      request_id: e.requestId,
      details: e.details ?? null,
    }));
    await this.prisma.connection.query(
      `INSERT INTO audit_events (occurred_at, type, outcome, reason, user_id, principal, session_id, ip, user_agent, request_id, details)
       SELECT occurred_at, type, outcome, reason, user_id, principal, session_id, ip, user_agent, request_id, details
         FROM jsonb_to_recordset($1::jsonb) AS e(occurred_at timestamptz, type text, outcome text, reason text, user_id uuid,
              principal text, session_id uuid, ip text, user_agent text, request_id text, details jsonb)`,
      [JSON.stringify(rows)],
      'insert-audit-events',
    );
  }

  async partitions(): Promise<AuditPartition[]> {
    const rows = await this.prisma.connection.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_events'::regclass`,
    );
    const partitions: AuditPartition[] = [];
    for (const row of rows) {
      const month = MONTHLY_PARTITION.exec(row.name);
      if (!month) continue;
      const from = new Date(Date.UTC(Number(month[1]), Number(month[2]) - 1, 1));
      partitions.push({ name: row.name, from, to: monthStart(from, 1) });
    }
    return partitions.sort((a, b) => a.from.getTime() - b.from.getTime());
  }

  /**
   * Adds the partition of the month that begins at `from`. Events of that month already in the
   * default partition (written while the clock was ahead of the partitions) move into it, in the
   * same transaction: PostgreSQL attaches no partition whose rows the default partition holds.
   */
  async createPartition(from: Date): Promise<void> {
    const name = partitionName(from);
    const [lower, upper] = [from.toISOString(), monthStart(from, 1).toISOString()];
    await this.prisma.connection.transaction(async (tx) => {
      await tx.exec(`SET LOCAL lock_timeout = ${PARTITION_LOCK_TIMEOUT_MS}`);
      await tx.exec(`CREATE TABLE "${name}" (LIKE audit_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
      await tx.exec(
        `WITH moved AS (DELETE FROM audit_events_default WHERE occurred_at >= '${lower}' AND occurred_at < '${upper}' RETURNING *) INSERT INTO "${name}" SELECT * FROM moved`,
      );
      await tx.exec(`ALTER TABLE audit_events ATTACH PARTITION "${name}" FOR VALUES FROM ('${lower}') TO ('${upper}')`);
    });
  }

  /**
   * Drops a monthly partition; returns about how many events it held. ANALYZE samples at most
   * 30,000 rows (exact below that): counting a month of events would read all of it.
   */
  async dropPartition(partition: AuditPartition): Promise<number> {
    if (!MONTHLY_PARTITION.test(partition.name)) throw new Error(`not a monthly audit partition: ${partition.name}`);
    return this.prisma.connection.transaction(async (tx) => {
      await tx.exec(`SET LOCAL lock_timeout = ${PARTITION_LOCK_TIMEOUT_MS}`);
      await tx.exec(`ANALYZE "${partition.name}"`);
      const [row] = await tx.query<{ rows: number }>(`SELECT GREATEST(reltuples, 0)::float8 AS rows FROM pg_class WHERE oid = $1::regclass`, [partition.name]);
      await tx.exec(`DROP TABLE "${partition.name}"`);
      return Math.round(Number(row?.rows ?? 0));
    });
  }

  /** One batch of the cleanup: events older than `before` that no monthly partition took. */
  async deleteUnpartitionedBefore(before: Date, limit: number): Promise<number> {
    const [row] = await this.prisma.connection.query<{ n: number }>(
      `WITH gone AS (
         DELETE FROM audit_events_default WHERE ctid = ANY(ARRAY(SELECT ctid FROM audit_events_default WHERE occurred_at < $1 LIMIT $2)) RETURNING 1
       ) SELECT count(*)::int AS n FROM gone`,
      [before, limit],
      'delete-unpartitioned-audit-events',
    );
    return row?.n ?? 0;
  }

  async find(query: AuditQuery): Promise<AuditEvent[]> {
    const rows = await this.prisma.auditEvent.findMany({
      where: {
        ...(query.userId ? { userId: query.userId } : {}),
        ...(query.type ? { type: query.type } : {}),
        ...(query.from || query.to ? { occurredAt: { ...(query.from ? { gte: query.from } : {}), ...(query.to ? { lt: query.to } : {}) } } : {}),
        ...(query.before ? { id: { lt: BigInt(query.before) } } : {}),
      },
      orderBy: { id: 'desc' },
      take: query.limit,
    });
    return rows.map((r) => ({
      id: r.id.toString(),
      occurredAt: r.occurredAt,
      type: r.type as AuditEventType,
      outcome: r.outcome as 'success' | 'failure',
      reason: r.reason ?? undefined,
      userId: r.userId,
      principal: r.principal,
      sessionId: r.sessionId,
      ip: r.ip,
      userAgent: r.userAgent,
      requestId: r.requestId,
      details: (r.details as Record<string, unknown> | null) ?? undefined,
    }));
  }
}
