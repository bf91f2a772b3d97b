import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';

/** The channel the session_liveness migration's trigger sends the id of every session that ends on. */
const SESSION_ENDED_CHANNEL = 'sigauth_session_ended';

/**
 * Who hears that a session ended. Every instance hears it from the database, as the ending commits
 * (the trigger's notification); this instance also hears of the endings it writes itself at once,
 * before the write resolves, so that its own next answer knows; its notification follows.
 */
@Injectable()
export class SessionEndings {
  /** This instance's watchers, told of its own endings as they commit. */
  private readonly watchers = new Set<(sessionId: string) => void>();

  constructor(private readonly prisma: PrismaService) {}

  /**
   * Calls `ended` with the id of each session that ends, on any instance, as the ending commits;
   * with none when some may have been missed (a listening connection back after a loss); `down`
   * while nothing is heard.
   */
  async watch(ended: (sessionId?: string) => void, down: () => void): Promise<() => Promise<void>> {
    this.watchers.add(ended);
    const stop = await this.prisma.connection.listen(SESSION_ENDED_CHANNEL, ended, down);
    return async () => {
      this.watchers.delete(ended);
      await stop();
    };
  }

  /** Tells this instance's watchers of the sessions its own write has ended, once committed. */
  ended(sessionIds: readonly string[]): void {
    for (const id of sessionIds) for (const watcher of this.watchers) watcher(id);
  }
}
