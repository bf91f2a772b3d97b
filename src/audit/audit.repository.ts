import { Injectable } from '@nestjs/common';
import type { Prisma } from '../generated/prisma/client.js';
import { PrismaService } from '../prisma/prisma.service.js';
import type { AuditEvent, AuditEventType, AuditQuery } from './audit.types.js';

export type AuditRow = Omit<AuditEvent, 'id'>;

@Injectable()
export class AuditRepository {
  constructor(private readonly prisma: PrismaService) {}

  async insertMany(events: AuditRow[]): Promise<void> {
    await this.prisma.auditEvent.createMany({
      data: events.map((e) => ({
        occurredAt: e.occurredAt,
        type: e.type,
        outcome: e.outcome,
        reason: e.reason ?? null,
        userId: e.userId ?? null,
        principal: e.principal ?? null,
        sessionId: e.sessionId ?? null,
        ip: e.ip,
        userAgent: e.userAgent,
        requestId: e.requestId,
        details: (e.details ?? undefined) as Prisma.InputJsonValue | undefined,
      })),
    });
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
