import { Injectable, Logger } from '@nestjs/common';
import { GroupCommit, type GroupCommitObserver } from '../common/group-commit.js';
import { MetricsService } from '../health/metrics.service.js';
import type { SqlSession } from '../database/database-connection.js';
import { PrismaService } from '../database/prisma.service.js';
import type { CredentialKind, Role } from '../users/user.types.js';
import { SessionEndings } from './session-endings.js';

/** What a session is from its start. */
interface SessionFields {
  id: string;
  userId: string;
  clientId: string;
  credentialKind: CredentialKind;
  credentialId: string | null;
  ip: string | null;
  userAgent: string | null;
  createdAt: Date;
  /** When it ends unless refreshed: its first refresh token's expiry, or its access token's (renewed by each rotation). */
  expiresAt: Date;
  /** The DPoP key the session is bound to (RFC 7638 thumbprint), or null. */
  dpopJkt: string | null;
}

export interface NewSession extends SessionFields {
  /** The first refresh token; absent for a session of access tokens only (service accounts). */
  refreshJti?: string;
  /** The role its tokens carry: the session is written only while the user still has it. */
  role: Role;
}

export interface SessionRecord extends SessionFields {
  lastUsedAt: Date;
  revokedAt: Date | null;
  revokedReason: string | null;
}

/**
 * What the routes that ask on every request need of a live session: none of it changes while it
 * lives, for a change of its principal (a role included) ends it.
 */
export type LiveSession = Pick<SessionRecord, 'id' | 'userId' | 'clientId' | 'dpopJkt'> & {
  /** The principal's role now; its tokens count only while it is the one they carry. */
  role: Role;
};

/** The claims of the principal at the moment a rotation issued a pair, kept with the pair. */
export interface PrincipalClaims {
  acc: string;
  sub: string;
  role: Role;
}

/** A refresh token a rotation issued, with everything issued with it: enough to sign the pair again. */
export interface IssuedChild {
  jti: string;
  sessionId: string;
  userId: string;
  clientId: string;
  /** Epoch seconds, as in the tokens. */
  iat: number;
  refreshExp: number;
  accessJti: string;
  accessExp: number;
  kid: string;
  claims: PrincipalClaims;
  /** The session's DPoP key: its access tokens carry it as cnf.jkt. */
  jkt: string | null;
}

export interface Rotation {
  jti: string;
  childJti: string;
  accessJti: string;
  kid: string;
  clientId: string;
  now: Date;
  accessTtl: number;
  refreshTtl: number;
  maxAgeSeconds: number;
  graceMs: number;
  /** The key the request proved possession of (DPoP), if any: a bound session rotates only with its own. */
  proofJkt: string | null;
}

/** What presenting a refresh token did to its family. */
export type RotationOutcome =
  | { kind: 'rotated'; child: IssuedChild; grace: boolean }
  | { kind: 'reused'; sessionId: string; userId: string }
  | { kind: 'invalid'; reason: 'unknown' | 'expired' | 'ended' | 'max-age' | 'inactive' | 'unproven-key' };

/** A session of access tokens only, renewed: the principal's claims now, and the new token's expiry. */
export interface RenewedSession {
  session: SessionRecord;
  claims: PrincipalClaims;
  accessExp: number;
}

interface SessionRow {
  id: string;
  user_id: string;
  client_id: string;
  credential_kind: CredentialKind;
  credential_id: string | null;
  ip: string | null;
  user_agent: string | null;
  created_at: Date;
  last_used_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  revoked_reason: string | null;
  dpop_jkt: string | null;
}

interface ChildRow {
  jti: string;
  session_id: string;
  user_id: string;
  client_id: string;
  issued_at: Date;
  expires_at: Date;
  access_jti: string;
  access_expires_at: Date;
  kid: string;
  claims: PrincipalClaims;
  dpop_jkt: string | null;
}

const seconds = (date: Date): number => Math.floor(new Date(date).getTime() / 1000);

function fromSessionRow(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    clientId: row.client_id,
    credentialKind: row.credential_kind,
    credentialId: row.credential_id,
    ip: row.ip,
    userAgent: row.user_agent,
    createdAt: new Date(row.created_at),
    lastUsedAt: new Date(row.last_used_at),
    expiresAt: new Date(row.expires_at),
    revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
    revokedReason: row.revoked_reason,
    dpopJkt: row.dpop_jkt,
  };
}

function fromChildRow(row: ChildRow): IssuedChild {
  return {
    jti: row.jti,
    sessionId: row.session_id,
    userId: row.user_id,
    clientId: row.client_id,
    iat: seconds(row.issued_at),
    refreshExp: seconds(row.expires_at),
    accessJti: row.access_jti,
    accessExp: seconds(row.access_expires_at),
    kid: row.kid,
    claims: row.claims,
    jkt: row.dpop_jkt,
  };
}

/** Epoch seconds at which a session born at `created_at` reaches SESSION_MAX_AGE (`$maxAge`). */
const SESSION_END = (maxAgeParam: string) => `floor(extract(epoch FROM s.created_at)) + ${maxAgeParam}`;

/**
 * The principal behind session `s`, through the users module's published view: the user active and
 * the credential that opened the session still active (see the session_core migration).
 *
 * Joined per session, as a LATERAL subquery that OFFSET 0 keeps from being flattened: the session's
 * user and credential are then pushed into each branch of the view's UNION ALL and read by index.
 * As a plain join the planner hashes the whole view (every active user with every key, wallet and
 * password) on every rotation: 2.9 ms against 1.1 ms at 1,000 users (EXPLAIN ANALYZE of ROTATE),
 * and growing with the user count.
 */
const PRINCIPAL = `CROSS JOIN LATERAL (
  SELECT * FROM session_principals v WHERE v.user_id = s.user_id AND v.credential_kind = s.credential_kind AND v.credential_id = s.credential_id OFFSET 0
) p`;

/**
 * A rotation in one statement. `live` reads the presented token with its session and principal
 * once: the token live, its session live, of this API, younger than its maximum age, bound to no
 * DPoP key or to the one the request proved, its principal still active. `parent` retires the
 * token, re-checking under the row lock that it is still unretired, so of two rotations racing on
 * one token only one gets a row; `child` adds the child with what it is issued with; the final
 * update moves the session's expiry and re-checks that the session is live, so a revocation that
 * commits first leaves it with no row: no pair.
 */
const ROTATE = `
WITH live AS (
  SELECT t.jti, t.session_id, p.account, p.subject, p.role, ${SESSION_END('$10')} AS ends
    FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id ${PRINCIPAL}
   WHERE t.jti = $1 AND t.rotated_at IS NULL AND t.expires_at > $6
     AND s.revoked_at IS NULL AND s.client_id = $5 AND ${SESSION_END('$10')} > $7 AND (s.dpop_jkt IS NULL OR s.dpop_jkt = $11)
), parent AS (
  UPDATE refresh_tokens t SET rotated_at = $6 FROM live WHERE t.jti = live.jti AND t.rotated_at IS NULL
  RETURNING live.*
), child AS (
  INSERT INTO refresh_tokens (jti, session_id, parent_jti, issued_at, expires_at, access_jti, access_expires_at, kid, claims)
  SELECT $2, session_id, $1, to_timestamp($7), to_timestamp(LEAST($7 + $9, ends)), $3, to_timestamp(LEAST($7 + $8, ends)), $4,
         jsonb_build_object('acc', account, 'sub', subject, 'role', role)
    FROM parent
  RETURNING jti, session_id, issued_at, expires_at, access_jti, access_expires_at, kid, claims
)
UPDATE sessions s SET last_used_at = $6, expires_at = child.expires_at
  FROM child WHERE s.id = child.session_id AND s.revoked_at IS NULL
RETURNING child.*, s.user_id, s.client_id, s.dpop_jkt`;

/**
 * Whether PostgreSQL refused a batch for something one of its rows can cause, so that writing the
 * rows one by one isolates it: a data exception (22), an integrity violation (23), a deadlock or
 * serialization failure (40). A timeout or a lost connection carries no such SQLSTATE.
 */
const causedByRow = (error: unknown): boolean => /^(22|23|40)/.test(String((error as { code?: unknown } | null)?.code ?? ''));

/** At most this many refreshes' rotations in one statement. */
const ROTATION_BATCH_LIMIT = 256;

/**
 * ROTATE for a batch, one rotation per element of the arrays, in one statement and one commit
 * (group commit, as for logins): each row is checked and written as ROTATE does it, with its own
 * instant, lifetimes and proof. The same token twice in one batch is retired once, and only one of
 * the two gets a child (the UPDATE's join takes one live row per token); the other finds it retired,
 * like the loser of a race between two statements. `live` reads each token and its session by
 * primary key, as a LATERAL subquery per element: joined plainly, the plan prepared for the batch
 * hashed it against a scan of every session.
 */
const ROTATE_BATCH = `
WITH r AS (
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[], $7::int8[], $8::int8[], $9::int8[], $10::int8[], $11::text[])
    AS r(jti, child_jti, access_jti, kid, client_id, at, iat, access_ttl, refresh_ttl, max_age, proof_jkt)
), live AS (
  SELECT l.* FROM r CROSS JOIN LATERAL (
    SELECT t.jti, t.session_id, r.child_jti, r.access_jti, r.kid, r.at, r.iat, r.access_ttl, r.refresh_ttl, p.account, p.subject, p.role, ${SESSION_END('r.max_age')} AS ends
      FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id ${PRINCIPAL}
     WHERE t.jti = r.jti AND t.rotated_at IS NULL AND t.expires_at > r.at
       AND s.revoked_at IS NULL AND s.client_id = r.client_id AND ${SESSION_END('r.max_age')} > r.iat AND (s.dpop_jkt IS NULL OR s.dpop_jkt = r.proof_jkt)
    OFFSET 0
  ) l
), parent AS (
  UPDATE refresh_tokens t SET rotated_at = live.at FROM live WHERE t.jti = live.jti AND t.rotated_at IS NULL
  RETURNING live.*
), child AS (
  INSERT INTO refresh_tokens (jti, session_id, parent_jti, issued_at, expires_at, access_jti, access_expires_at, kid, claims)
  SELECT child_jti, session_id, jti, to_timestamp(iat), to_timestamp(LEAST(iat + refresh_ttl, ends)), access_jti, to_timestamp(LEAST(iat + access_ttl, ends)), kid,
         jsonb_build_object('acc', account, 'sub', subject, 'role', role)
    FROM parent
  RETURNING jti, session_id, parent_jti, issued_at, expires_at, access_jti, access_expires_at, kid, claims
)
UPDATE sessions s SET last_used_at = parent.at, expires_at = child.expires_at
  FROM child JOIN parent ON parent.jti = child.parent_jti
 WHERE s.id = child.session_id AND s.revoked_at IS NULL
RETURNING child.*, s.user_id, s.client_id, s.dpop_jkt`;

/** At most this many logins' sessions in one statement. */
const SESSION_BATCH_LIMIT = 256;

/**
 * A new session's fields, in the order of INSERT_SESSIONS's parameters, each with its SQL type: one
 * session binds them as scalars, a batch as arrays (unnest), and PGlite takes only the first.
 */
const NEW_SESSION_FIELDS: readonly [column: string, type: string, value: (s: NewSession) => unknown][] = [
  ['id', 'uuid', (s) => s.id],
  ['user_id', 'uuid', (s) => s.userId],
  ['client_id', 'text', (s) => s.clientId],
  ['kind', '"CredentialKind"', (s) => s.credentialKind],
  ['credential_id', 'uuid', (s) => s.credentialId],
  ['ip', 'text', (s) => s.ip],
  ['user_agent', 'text', (s) => s.userAgent],
  ['created_at', 'timestamptz', (s) => s.createdAt.toISOString()],
  ['expires_at', 'timestamptz', (s) => s.expiresAt.toISOString()],
  ['dpop_jkt', 'text', (s) => s.dpopJkt],
  ['role', '"Role"', (s) => s.role],
  ['refresh_jti', 'uuid', (s) => s.refreshJti ?? null],
];
const NEW_SESSION_COLUMNS = NEW_SESSION_FIELDS.map(([column]) => column).join(', ');
const ONE_NEW_SESSION = `SELECT ${NEW_SESSION_FIELDS.map(([, type], i) => `$${i + 1}::${type}`).join(', ')}`;
const NEW_SESSIONS = `SELECT * FROM unnest(${NEW_SESSION_FIELDS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')})`;

/**
 * New sessions, each with its first refresh token where it has one, written only while its
 * principal is still what the login proved: the user active with the role its tokens carry, the
 * credential that opened it unrevoked (the password by its id, which every change renews). Returns
 * the ids written; a login whose principal changed while it was in flight gets none.
 *
 * The check and the write are one statement, and the user and credential rows are read FOR SHARE,
 * not through the session_principals view (a UNION, which cannot be locked): a change that commits
 * first is seen (a locked row is re-read at its newest version), and one that commits after waits
 * for this statement, so the revocation that follows it (a later statement) finds the session.
 */
const insertSessionsFrom = (source: string): string => `
WITH n (${NEW_SESSION_COLUMNS}) AS (${source}),
principal AS MATERIALIZED (
  SELECT u.id, u.role, u.password_id FROM users u WHERE u.id IN (SELECT user_id FROM n) AND u.status = 'ACTIVE' FOR SHARE
), key_credential AS MATERIALIZED (
  SELECT k.id, k.user_id FROM public_keys k WHERE k.id IN (SELECT credential_id FROM n WHERE kind = 'ED25519_KEY') AND k.revoked_at IS NULL FOR SHARE
), wallet_credential AS MATERIALIZED (
  SELECT w.id, w.user_id FROM wallets w WHERE w.id IN (SELECT credential_id FROM n WHERE kind = 'WALLET') AND w.revoked_at IS NULL FOR SHARE
), s AS (
  INSERT INTO sessions (id, user_id, client_id, credential_kind, credential_id, ip, user_agent, created_at, last_used_at, expires_at, dpop_jkt)
  SELECT n.id, n.user_id, n.client_id, n.kind, n.credential_id, n.ip, n.user_agent, n.created_at, n.created_at, n.expires_at, n.dpop_jkt
    FROM n JOIN principal p ON p.id = n.user_id AND p.role = n.role
   WHERE CASE n.kind
           WHEN 'PASSWORD' THEN n.credential_id = p.password_id
           WHEN 'ED25519_KEY' THEN EXISTS (SELECT 1 FROM key_credential c WHERE c.id = n.credential_id AND c.user_id = n.user_id)
           WHEN 'WALLET' THEN EXISTS (SELECT 1 FROM wallet_credential c WHERE c.id = n.credential_id AND c.user_id = n.user_id)
           ELSE false
         END
  RETURNING id, created_at, expires_at
), t AS (
  INSERT INTO refresh_tokens (jti, session_id, issued_at, expires_at)
  SELECT n.refresh_jti, s.id, s.created_at, s.expires_at FROM s JOIN n ON n.id = s.id WHERE n.refresh_jti IS NOT NULL
)
SELECT id FROM s`;
const INSERT_SESSION = insertSessionsFrom(ONE_NEW_SESSION);
const INSERT_SESSIONS = insertSessionsFrom(NEW_SESSIONS);

/** Sessions (refresh-token families) and their tokens. */
@Injectable()
export class SessionRepository {
  private readonly sessionWrites: GroupCommit<NewSession, boolean>;
  private readonly rotations: GroupCommit<Rotation, IssuedChild | undefined>;
  private readonly logger = new Logger(SessionRepository.name);

  constructor(
    private readonly prisma: PrismaService,
    private readonly metrics: MetricsService,
    private readonly endings: SessionEndings,
  ) {
    // Embedded PGlite serves one process and does not take the array parameters of the batch statements: one row a statement.
    const pglite = prisma.connection.kind === 'pglite';
    this.sessionWrites = new GroupCommit(
      (batch) => this.insertSessions(batch),
      pglite ? 1 : SESSION_BATCH_LIMIT,
      this.observe('sessions'),
      causedByRow,
    );
    this.rotations = new GroupCommit((batch) => this.rotateLiveBatch(batch), pglite ? 1 : ROTATION_BATCH_LIMIT, this.observe('rotations'), causedByRow);
  }

  private observe(write: 'sessions' | 'rotations'): GroupCommitObserver {
    return {
      written: (size) => {
        this.metrics.groupCommitBatches.inc({ write });
        this.metrics.groupCommitItems.inc({ write }, size);
      },
      refused: (size, error) => {
        this.metrics.groupCommitRefused.inc({ write });
        this.logger.warn(`a batch of ${size} ${write} was refused (${error instanceof Error ? error.message : String(error)}); writing them one by one`);
      },
    };
  }

  /**
   * The session and its first refresh token, committed before this resolves; false, and nothing
   * written, when its principal is no longer active (INSERT_SESSIONS). Logins that arrive while a
   * write is in flight go out together in the next one (group commit): one statement and one
   * commit for the burst, each login still answered only once its own row is committed.
   */
  create(session: NewSession): Promise<boolean> {
    return this.sessionWrites.write(session);
  }

  /** Sessions and the first refresh token of each that has one, in one statement; whether each was written. */
  private async insertSessions(batch: NewSession[]): Promise<boolean[]> {
    const values = batch.map((session) => NEW_SESSION_FIELDS.map(([, , value]) => value(session)));
    const rows =
      batch.length === 1
        ? await this.prisma.connection.query<{ id: string }>(INSERT_SESSION, values[0]!, 'insert-session')
        : await this.prisma.connection.query<{ id: string }>(INSERT_SESSIONS, values[0]!.map((_, column) => values.map((row) => row[column])), 'insert-sessions');
    const written = new Set(rows.map((row) => row.id));
    return batch.map((s) => written.has(s.id));
  }

  /**
   * Rotates refresh token `jti`. The common case is one statement (ROTATE), shared with the
   * rotations that arrive while one is in flight (group commit, as for logins: ROTATE_BATCH),
   * resolved once committed. When it finds nothing to rotate, a transaction that locks the token
   * and its session decides why: the immediate parent presented again within `graceMs`, before its
   * child was used, gets that child (the same pair, not a sibling); any other retired token is a
   * reuse, and its family is revoked.
   */
  async rotate(rotation: Rotation): Promise<RotationOutcome> {
    const child = await this.rotations.write(rotation);
    if (child) return { kind: 'rotated', child, grace: false };
    const ended: string[] = [];
    const outcome = await this.prisma.connection.transaction((tx) => this.rotateContended(tx, rotation, ended));
    this.endings.ended(ended);
    return outcome;
  }

  /** Each rotation's child, or undefined where it found nothing to rotate, in one statement. */
  private async rotateLiveBatch(batch: Rotation[]): Promise<(IssuedChild | undefined)[]> {
    if (batch.length === 1) return [await this.rotateLive(this.prisma.connection, batch[0]!)];
    // In token order, so that two workers' batches that share tokens lock them in the same order
    // and wait rather than deadlock (PostgreSQL's detector, then the item-by-item retry, is the backstop).
    const ordered = [...batch].sort((a, b) => (a.jti < b.jti ? -1 : a.jti > b.jti ? 1 : 0));
    const column = <K extends keyof Rotation>(key: K) => ordered.map((r) => r[key]);
    const rows = await this.prisma.connection.query<ChildRow>(
      ROTATE_BATCH,
      [
        column('jti'),
        column('childJti'),
        column('accessJti'),
        column('kid'),
        column('clientId'),
        ordered.map((r) => r.now.toISOString()),
        ordered.map((r) => Math.floor(r.now.getTime() / 1000)),
        column('accessTtl'),
        column('refreshTtl'),
        column('maxAgeSeconds'),
        column('proofJkt'),
      ],
      'rotate-refresh-tokens',
    );
    const children = new Map(rows.map((row) => [row.jti, fromChildRow(row)]));
    return batch.map((r) => children.get(r.childJti));
  }

  private async rotateLive(sql: SqlSession, r: Rotation): Promise<IssuedChild | undefined> {
    const iat = Math.floor(r.now.getTime() / 1000);
    const rows = await sql.query<ChildRow>(
      ROTATE,
      [r.jti, r.childJti, r.accessJti, r.kid, r.clientId, r.now, iat, r.accessTtl, r.refreshTtl, r.maxAgeSeconds, r.proofJkt],
      'rotate-refresh-token',
    );
    return rows[0] ? fromChildRow(rows[0]) : undefined;
  }

  /** Pushes the id of a session it revokes onto `ended`, for once the transaction has committed. */
  private async rotateContended(tx: SqlSession, r: Rotation, ended: string[]): Promise<RotationOutcome> {
    const [token] = await tx.query<{ session_id: string; expires_at: Date; rotated_at: Date | null }>(
      'SELECT session_id, expires_at, rotated_at FROM refresh_tokens WHERE jti = $1 FOR UPDATE',
      [r.jti],
    );
    if (!token) return { kind: 'invalid', reason: 'unknown' };
    const [session] = await tx.query<SessionRow>('SELECT * FROM sessions WHERE id = $1 FOR UPDATE', [token.session_id]);
    if (!session || session.revoked_at !== null || session.client_id !== r.clientId) return { kind: 'invalid', reason: 'ended' };
    if (seconds(session.created_at) + r.maxAgeSeconds <= Math.floor(r.now.getTime() / 1000)) return { kind: 'invalid', reason: 'max-age' };
    // Holding a bound session's refresh token is not enough: without its key nothing is rotated,
    // reused or revoked, so a thief of the token alone can neither use it nor end the session.
    if (session.dpop_jkt !== null && session.dpop_jkt !== r.proofJkt) return { kind: 'invalid', reason: 'unproven-key' };
    if (token.rotated_at === null) {
      if (new Date(token.expires_at) <= r.now) return { kind: 'invalid', reason: 'expired' };
      // Live, yet the statement did not rotate it: a rotation that raced this one has just
      // committed (try again, under the locks), or the principal or credential is no longer active.
      const child = await this.rotateLive(tx, r);
      if (child) return { kind: 'rotated', child, grace: false };
      await this.revokeLocked(tx, session.id, 'user or credential no longer active', r.now);
      ended.push(session.id);
      return { kind: 'invalid', reason: 'inactive' };
    }
    const [child] = await tx.query<ChildRow & { rotated_at: Date | null }>(
      `SELECT c.jti, c.session_id, c.issued_at, c.expires_at, c.access_jti, c.access_expires_at, c.kid, c.claims, c.rotated_at, s.user_id, s.client_id, s.dpop_jkt
         FROM refresh_tokens c JOIN sessions s ON s.id = c.session_id WHERE c.parent_jti = $1`,
      [r.jti],
    );
    const withinGrace = r.now.getTime() - new Date(token.rotated_at).getTime() <= r.graceMs;
    if (withinGrace && child && child.rotated_at === null && child.kid !== null) return { kind: 'rotated', child: fromChildRow(child), grace: true };
    await this.revokeLocked(tx, session.id, 'refresh token reused', r.now);
    ended.push(session.id);
    return { kind: 'reused', sessionId: session.id, userId: session.user_id };
  }

  private async revokeLocked(tx: SqlSession, id: string, reason: string, now: Date): Promise<void> {
    await tx.query('UPDATE sessions SET revoked_at = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at IS NULL', [id, now, reason]);
  }

  /**
   * A session of access tokens only, renewed for one more token: live, of this API, younger than
   * its maximum age, its principal active and its credential unexpired. Undefined otherwise.
   */
  async renewAccessOnly(sid: string, clientId: string, now: Date, ttlSeconds: number, maxAgeSeconds: number): Promise<RenewedSession | undefined> {
    const iat = Math.floor(now.getTime() / 1000);
    const rows = await this.prisma.connection.query<SessionRow & PrincipalClaims & { access_exp: number }>(
      `WITH live AS (
         SELECT s.id, p.account, p.subject, p.role FROM sessions s ${PRINCIPAL}
          WHERE s.id = $1 AND s.revoked_at IS NULL AND s.client_id = $2 AND ${SESSION_END('$6')} > $4
            AND (p.credential_expires_at IS NULL OR p.credential_expires_at > $3)
       )
       UPDATE sessions s SET last_used_at = $3, expires_at = GREATEST(s.expires_at, to_timestamp(LEAST($4 + $5, ${SESSION_END('$6')})))
         FROM live p
        WHERE s.id = p.id AND s.revoked_at IS NULL
        RETURNING s.*, p.account AS acc, p.subject AS sub, p.role, LEAST($4 + $5, ${SESSION_END('$6')})::float8 AS access_exp`,
      [sid, clientId, now, iat, ttlSeconds, maxAgeSeconds],
      'renew-access-only-session',
    );
    const row = rows[0];
    return row ? { session: fromSessionRow(row), claims: { acc: row.acc, sub: row.sub, role: row.role }, accessExp: Number(row.access_exp) } : undefined;
  }

  /** Whether the principal behind a session is active, and when its credential expires. */
  async principalOf(sid: string): Promise<{ credentialExpiresAt: Date | null } | undefined> {
    const rows = await this.prisma.connection.query<{ credential_expires_at: Date | null }>(
      `SELECT p.credential_expires_at FROM sessions s ${PRINCIPAL} WHERE s.id = $1`,
      [sid],
    );
    return rows[0] ? { credentialExpiresAt: rows[0].credential_expires_at && new Date(rows[0].credential_expires_at) } : undefined;
  }

  /**
   * Every bearer-guarded request and every introspection asks this (through the liveness cache):
   * the session unrevoked and its principal active, with the role it has now; one named statement.
   */
  async findLive(id: string): Promise<LiveSession | undefined> {
    const rows = await this.prisma.connection.query<{ id: string; user_id: string; client_id: string; dpop_jkt: string | null; role: Role }>(
      `SELECT s.id, s.user_id, s.client_id, s.dpop_jkt, p.role FROM sessions s ${PRINCIPAL} WHERE s.id = $1 AND s.revoked_at IS NULL`,
      [id],
      'live-session-by-id',
    );
    const row = rows[0];
    return row ? { id: row.id, userId: row.user_id, clientId: row.client_id, dpopJkt: row.dpop_jkt, role: row.role } : undefined;
  }

  async findById(id: string): Promise<SessionRecord | undefined> {
    const rows = await this.prisma.connection.query<SessionRow>('SELECT * FROM sessions WHERE id = $1', [id], 'session-by-id');
    return rows[0] ? fromSessionRow(rows[0]) : undefined;
  }

  /** A user's sessions, newest first; live ones only unless `includeEnded`. */
  async listForUser(userId: string, now: Date, includeEnded = false): Promise<SessionRecord[]> {
    const rows = await this.prisma.session.findMany({
      where: { userId, ...(includeEnded ? {} : { revokedAt: null, expiresAt: { gt: now } }) },
      orderBy: { createdAt: 'desc' },
      take: 500,
    });
    return rows;
  }

  /** Revokes one session if it is live; returns whether it was. */
  async revoke(id: string, reason: string, now: Date): Promise<boolean> {
    const { count } = await this.prisma.session.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: now, revokedReason: reason } });
    if (count === 1) this.endings.ended([id]);
    return count === 1;
  }

  /** Revokes the session a refresh token belongs to. */
  async revokeByRefreshToken(jti: string, reason: string, now: Date): Promise<void> {
    const rows = await this.prisma.connection.query<{ id: string }>(
      'UPDATE sessions SET revoked_at = $2, revoked_reason = $3 WHERE id = (SELECT session_id FROM refresh_tokens WHERE jti = $1) AND revoked_at IS NULL RETURNING id',
      [jti, now, reason],
    );
    this.endings.ended(rows.map(({ id }) => id));
  }

  /** Revokes a user's live sessions; returns how many. */
  revokeForUser(userId: string, reason: string, now: Date): Promise<number> {
    return this.revokeWhere({ userId }, reason, now);
  }

  /** Revokes the live sessions a credential opened; returns how many. */
  revokeForCredential(credentialId: string, reason: string, now: Date): Promise<number> {
    return this.revokeWhere({ credentialId }, reason, now);
  }

  private async revokeWhere(where: { userId: string } | { credentialId: string }, reason: string, now: Date): Promise<number> {
    const rows = await this.prisma.session.updateManyAndReturn({ where: { ...where, revokedAt: null }, data: { revokedAt: now, revokedReason: reason }, select: { id: true } });
    this.endings.ended(rows.map(({ id }) => id));
    return rows.length;
  }

  /** Whether a refresh token is the live end of its family: not retired, not expired, session live. */
  async isRefreshTokenLive(jti: string, now: Date): Promise<boolean> {
    const count = await this.prisma.refreshToken.count({ where: { jti, rotatedAt: null, expiresAt: { gt: now }, session: { revokedAt: null } } });
    return count === 1;
  }
}
