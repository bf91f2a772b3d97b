/** Writes a batch of items in one statement (one commit); resolves once they are committed. */
export type BatchWrite<T> = (items: T[]) => Promise<void>;

interface Waiting<T> {
  item: T;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: items written while a write is in flight wait for it, then go out together in the
 * next one, so a burst of N items costs about one statement and one commit instead of N. A lone
 * item is written at once, so nothing waits when there is no burst. Each caller's promise settles
 * only when the write that carried its item has finished: a resolved promise means committed.
 *
 * When a batch fails, its items are written again one by one, so one bad item (a row another
 * statement removed the parent of, say) fails alone and the others still commit, each with its
 * own outcome.
 */
export class GroupCommit<T> {
  private queue: Waiting<T>[] = [];
  private writing = false;

  constructor(
    private readonly writeBatch: BatchWrite<T>,
    private readonly maxBatch: number,
  ) {}

  write(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        await this.settle(batch);
      }
    } finally {
      this.writing = false;
    }
  }

  private async settle(batch: Waiting<T>[]): Promise<void> {
    try {
      await this.writeBatch(batch.map((w) => w.item));
      for (const w of batch) w.resolve();
      return;
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
    }
    for (const w of batch) {
      try {
        await this.writeBatch([w.item]);
        w.resolve();
      } catch (error) {
        w.reject(error);
      }
    }
  }
}
