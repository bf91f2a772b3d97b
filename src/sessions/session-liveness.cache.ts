import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { SessionEndings } from './session-endings.js';
import { SessionRepository, type LiveSession } from './session.repository.js';

export type { LiveSession };

/**
 * A backstop, never the mechanism: an entry is dropped the moment its session ends, on every
 * instance, by the notification the session_liveness trigger sends (and on the instance that ended
 * it, by its own write, before that resolves). Only a listening connection that dies without a
 * word could keep an ended session here, until its heartbeat goes unanswered (LISTEN_HEARTBEAT_MS)
 * and at most for this long.
 */
const ENTRY_TTL_MS = 10_000;
/** About 100 bytes an entry: a few MB at most, whatever the number of sessions. */
const MAX_ENTRIES = 50_000;

/**
 * The sessions this instance has found live, for introspection and the bearer routes, which ask
 * about one or two sessions on every request. It serves only while this instance hears every
 * ending (its LISTEN is up): from a lost connection until it is back, every lookup goes to the
 * database and the cache starts empty again.
 */
@Injectable()
export class SessionLivenessCache implements OnModuleDestroy {
  private readonly logger = new Logger(SessionLivenessCache.name);
  private readonly live = new Map<string, { session: LiveSession; until: number }>();
  private listening: 'not yet' | 'connecting' | 'up' | 'down' = 'not yet';
  /** Counts endings heard: a lookup that raced one (read before it committed, answered after it was heard) is not kept. */
  private endings = 0;
  private unsubscribe?: Promise<() => Promise<void>>;
  /** Settles once the first attempt to listen has: connected, or failed and retrying. */
  private subscribed?: Promise<void>;

  constructor(
    private readonly sessions: SessionRepository,
    private readonly sessionEndings: SessionEndings,
    private readonly clock: Clock,
  ) {}

  /** The session if it is live (not revoked, its principal active), from memory when this instance has seen it live. */
  async find(sessionId: string): Promise<LiveSession | undefined> {
    this.subscribe();
    // Once per process: the first lookups wait for the LISTEN, so that what they find is kept.
    if (this.listening === 'connecting') await this.subscribed;
    const now = this.clock.now();
    const known = this.live.get(sessionId);
    if (known && known.until > now && this.listening === 'up') return known.session;
    const endings = this.endings;
    const session = await this.sessions.findLive(sessionId);
    if (!session) return undefined;
    if (this.listening === 'up' && this.endings === endings) this.remember(session, now);
    return session;
  }

  async onModuleDestroy(): Promise<void> {
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = undefined;
    this.listening = 'down';
    this.live.clear();
    const stop = await unsubscribe?.catch(() => undefined);
    await stop?.();
  }

  /**
   * The first lookup subscribes this instance, so that the command line, which serves no
   * requests, never listens.
   */
  private subscribe(): void {
    if (this.unsubscribe) return;
    this.listening = 'connecting';
    this.unsubscribe = this.sessionEndings.watch(
      (sessionId) => this.ended(sessionId),
      () => this.down(),
    );
    this.subscribed = this.unsubscribe.then(
      () => {
        if (this.listening === 'connecting') this.listening = 'up';
      },
      (error: Error) => {
        this.logger.warn(`not listening for ended sessions, every lookup reads the database: ${error.message}`);
        this.listening = 'down';
      },
    );
  }

  private ended(sessionId: string | undefined): void {
    this.endings += 1;
    if (sessionId) {
      this.live.delete(sessionId);
      return;
    }
    // Back after a loss: whatever ended meanwhile is unknown, so nothing known before is kept.
    this.live.clear();
    this.listening = 'up';
  }

  private down(): void {
    this.endings += 1;
    this.listening = 'down';
    this.live.clear();
  }

  private remember(session: LiveSession, now: number): void {
    if (this.live.size >= MAX_ENTRIES) this.live.delete(this.live.keys().next().value!);
    this.live.set(session.id, { session, until: now + ENTRY_TTL_MS });
  }
}
