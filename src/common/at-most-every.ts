/**
 * Lets a task run at most once per interval of the time it is given: a purge of expired rows that
 * every request could start, started by one request a minute.
 */
export class AtMostEvery {
  private last = -Infinity;

  constructor(private readonly intervalMs: number) {}

  /** True, and the interval restarts, when the task is due at `nowMs`. */
  due(nowMs: number): boolean {
    if (nowMs - this.last < this.intervalMs) return false;
    this.last = nowMs;
    return true;
  }
}
