/**
 * Writes a batch of items in one statement (one commit); resolves once they are committed, with
 * each item's result at the item's index.
 */
export type BatchWrite<T, R> = (items: T[]) => Promise<R[]>;

/** What a GroupCommit reports: every batch written, and every batch refused and then written item by item. */
export interface GroupCommitObserver {
  written(size: number): void;
  refused(size: number, error: unknown): void;
}

interface Waiting<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: items written while a write is in flight wait for it, then go out together in the
 * next one, so a burst of N items costs about one statement and one commit instead of N. A lone
 * item is written at once, so nothing waits when there is no burst. Each caller's promise settles
 * only when the write that carried its item has finished: a resolved promise means committed, and
 * it resolves with what the write returned for that item.
 *
 * When a batch fails with an error one item can cause (`itemAtFault`: a row another statement
 * removed the parent of, a deadlock with another instance's batch), its items are written again one
 * by one, so the bad item fails alone and the others still commit, each with its own outcome. Any
 * other failure (the database not answering within its timeout, a lost connection) fails the batch
 * and every item waiting behind it at once: writing them after it would make each wait out the
 * same timeout again.
 */
export class GroupCommit<T, R = void> {
  private queue: Waiting<T, R>[] = [];
  private writing = false;

  constructor(
    private readonly writeBatch: BatchWrite<T, R>,
    private readonly maxBatch: number,
    private readonly observer?: GroupCommitObserver,
    private readonly itemAtFault: (error: unknown) => boolean = () => true,
  ) {}

  write(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
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

  private async settle(batch: Waiting<T, R>[]): Promise<void> {
    try {
      const results = await this.writeBatch(batch.map((w) => w.item));
      this.observer?.written(batch.length);
      batch.forEach((w, i) => w.resolve(results[i]!));
      return;
    } catch (error) {
      if (!this.itemAtFault(error)) {
        for (const w of [...batch, ...this.queue.splice(0)]) w.reject(error);
        return;
      }
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      this.observer?.refused(batch.length, error);
    }
    for (const w of batch) {
      try {
        const [result] = await this.writeBatch([w.item]);
        this.observer?.written(1);
        w.resolve(result!);
      } catch (error) {
        w.reject(error);
      }
    }
  }
}
