export type AuditEventType =
  | 'login.success'
  | 'login.failure'
  | 'token.refresh'
  | 'token.reuse_detected'
  | 'logout'
  | 'session.revoked'
  | 'credential.added'
  | 'credential.revoked'
  | 'credential.replaced'
  | 'rate_limit.refused'
  | 'user.created'
  | 'user.disabled'
  | 'user.enabled';

export const AUDIT_EVENT_TYPES: readonly AuditEventType[] = [
  'login.success',
  'login.failure',
  'token.refresh',
  'token.reuse_detected',
  'logout',
  'session.revoked',
  'credential.added',
  'credential.revoked',
  'credential.replaced',
  'rate_limit.refused',
  'user.created',
  'user.disabled',
  'user.enabled',
];

export interface AuditEventInput {
  type: AuditEventType;
  outcome: 'success' | 'failure';
  /** A stable code: the error code of a failure, or what caused the event. */
  reason?: string;
  userId?: string | null;
  /** The identity claimed or proven: an email, a wallet address, an admin's email. */
  principal?: string | null;
  sessionId?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditEvent extends AuditEventInput {
  id: string;
  occurredAt: Date;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

export interface AuditQuery {
  userId?: string;
  type?: AuditEventType;
  from?: Date;
  to?: Date;
  limit: number;
  /** Keyset pagination: events older than this id (newest first). */
  before?: string;
}
