import { GroupCommit } from './group-commit.js';

/** A write that records each batch, finishes when the test says so, and returns each item times ten. */
function recordingWrite(fails: (items: number[]) => boolean = () => false) {
  const batches: number[][] = [];
  const finish: (() => void)[] = [];
  const write = (items: number[]) =>
    new Promise<number[]>((resolve, reject) => {
      batches.push(items);
      finish.push(() => (fails(items) ? reject(new Error(`refused ${items.join(',')}`)) : resolve(items.map((n) => n * 10))));
    });
  return { batches, finish, write };
}

const settled = (promise: Promise<number>) => promise.then(() => 'committed', (error: Error) => error.message);
const ticks = () => new Promise((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  it('writes a lone item at once, on its own', async () => {
    const { batches, finish, write } = recordingWrite();
    const commit = new GroupCommit(write, 10);
    const one = settled(commit.write(1));
    expect(batches).toEqual([[1]]);
    finish[0]!();
    await expect(one).resolves.toBe('committed');
  });

  it('gathers the items that arrive during a write into the next one, and settles none before its write ends', async () => {
    const { batches, finish, write } = recordingWrite();
    const commit = new GroupCommit(write, 10);
    const outcomes: string[] = [];
    const track = (n: number) => settled(commit.write(n)).then((o) => outcomes.push(`${n}:${o}`));
    const all = [1, 2, 3, 4].map(track);
    await ticks();
    expect(batches).toEqual([[1]]);
    finish[0]!();
    await ticks();
    expect(outcomes).toEqual(['1:committed']);
    expect(batches).toEqual([[1], [2, 3, 4]]);
    finish[1]!();
    await Promise.all(all);
    expect(outcomes).toEqual(['1:committed', '2:committed', '3:committed', '4:committed']);
  });

  it("resolves each item with the write's result at its index, also when a refused batch is written item by item", async () => {
    const { batches, finish, write } = recordingWrite((items) => items.length > 1 && items.includes(3));
    const reports: string[] = [];
    const commit = new GroupCommit(write, 10, { written: (n) => reports.push(`written ${n}`), refused: (n, e) => reports.push(`refused ${n}: ${(e as Error).message}`) });
    const first = commit.write(1);
    const together = [2, 4].map((n) => commit.write(n));
    finish[0]!();
    await ticks();
    finish[1]!();
    await expect(Promise.all([first, ...together])).resolves.toEqual([10, 20, 40]);
    const lead = commit.write(9);
    const refused = [5, 3, 6].map((n) => commit.write(n));
    finish[2]!();
    for (let i = 3; i < 7; i++) {
      await ticks();
      finish[i]!(); // [5, 3, 6] refused, then [5], [3], [6]
    }
    await expect(Promise.all([lead, ...refused])).resolves.toEqual([90, 50, 30, 60]);
    expect(batches).toEqual([[1], [2, 4], [9], [5, 3, 6], [5], [3], [6]]);
    expect(reports).toEqual(['written 1', 'written 2', 'written 1', 'refused 3: refused 5,3,6', 'written 1', 'written 1', 'written 1']);
  });

  it('splits a queue longer than the limit', async () => {
    const { batches, finish, write } = recordingWrite();
    const commit = new GroupCommit(write, 2);
    const all = [1, 2, 3, 4, 5].map((n) => commit.write(n));
    for (let i = 0; i < 3; i++) {
      await ticks();
      finish[i]!();
    }
    await Promise.all(all);
    expect(batches).toEqual([[1], [2, 3], [4, 5]]);
  });

  it('fails only the item that fails: a refused batch is written again item by item', async () => {
    const { batches, finish, write } = recordingWrite((items) => items.includes(3));
    const commit = new GroupCommit(write, 10);
    const first = settled(commit.write(1));
    const rest = [2, 3, 4].map((n) => settled(commit.write(n)));
    finish[0]!();
    await ticks();
    finish[1]!(); // [2, 3, 4] refused
    for (let i = 2; i < 5; i++) {
      await ticks();
      finish[i]!();
    }
    await expect(first).resolves.toBe('committed');
    await expect(Promise.all(rest)).resolves.toEqual(['committed', 'refused 3', 'committed']);
    expect(batches).toEqual([[1], [2, 3, 4], [2], [3], [4]]);
  });

  it('keeps writing after a failure', async () => {
    const { finish, write } = recordingWrite((items) => items[0] === 1);
    const commit = new GroupCommit(write, 10);
    const failed = settled(commit.write(1));
    finish[0]!();
    await expect(failed).resolves.toBe('refused 1');
    const next = settled(commit.write(2));
    finish[1]!();
    await expect(next).resolves.toBe('committed');
  });

  it('fails a batch and every item waiting behind it at once when no item is at fault (a timeout), then writes new items', async () => {
    const { batches, finish, write } = recordingWrite((items) => items.includes(2));
    const commit = new GroupCommit(write, 10, undefined, (error) => !(error as Error).message.includes('2'));
    const lone = settled(commit.write(1));
    const batch = [2, 3].map((n) => settled(commit.write(n)));
    finish[0]!();
    await ticks();
    const behind = [4, 5].map((n) => settled(commit.write(n)));
    finish[1]!(); // [2, 3] refused with an error no item is at fault for
    await expect(Promise.all([lone, ...batch, ...behind])).resolves.toEqual(['committed', 'refused 2,3', 'refused 2,3', 'refused 2,3', 'refused 2,3']);
    expect(batches).toEqual([[1], [2, 3]]);
    const after = settled(commit.write(6));
    finish[2]!();
    await expect(after).resolves.toBe('committed');
    expect(batches).toEqual([[1], [2, 3], [6]]);
  });
});
