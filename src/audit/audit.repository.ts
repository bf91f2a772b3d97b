import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service.js';
import type { AuditEvent, AuditEventType, AuditQuery } from './audit.types.js';

export type AuditRow = Omit<AuditEvent, 'id'>;

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
