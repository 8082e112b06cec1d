/** The storage's download cache as a plain object: fills, spoiled fills, eviction, expiry. */
import { describe, expect, it } from 'vitest';
import { KeyedLock } from '../src/storage/keyed-lock.js';
import { ReadCache } from '../src/storage/read-cache.js';

const buf = (n: number, v = 1) => Buffer.alloc(n, v);

function cache(o: { maxFileSize?: number; maxMemory?: number; revalidateMs?: number } = {}) {
  let t = 1000;
  const c = new ReadCache({
    maxFileSize: o.maxFileSize ?? 100,
    maxMemory: o.maxMemory ?? 1000,
    revalidateMs: o.revalidateMs ?? 1000,
    now: () => t,
  });
  return { c, tick: (ms: number) => (t += ms) };
}

describe('ReadCache', () => {
  it('keeps a filled file and serves it until revalidateMs has passed', () => {
    const { c, tick } = cache();
    c.beginFill('a');
    c.fill('a', buf(10));
    expect(c.get('a')?.length).toBe(10);
    tick(999);
    expect(c.get('a')?.length).toBe(10);
    tick(1);
    expect(c.get('a')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('drops a fill that a forget() overtook, while other fills of the name run on', () => {
    const { c } = cache();
    c.beginFill('a');
    c.beginFill('a');
    c.forget('a');
    c.fill('a', buf(10, 1)); // read before the change finished: stale
    expect(c.get('a')).toBeUndefined();
    c.fill('a', buf(10, 2)); // also begun before the change
    expect(c.get('a')).toBeUndefined();
    c.beginFill('a'); // begun after: kept
    c.fill('a', buf(10, 3));
    expect(c.get('a')?.[0]).toBe(3);
  });

  it('forgets a cached name', () => {
    const { c } = cache();
    c.beginFill('a');
    c.fill('a', buf(10));
    c.forget('a');
    expect(c.get('a')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('keeps no file over maxFileSize and evicts the least recently used past maxMemory', () => {
    const { c } = cache({ maxFileSize: 40, maxMemory: 100 });
    for (const [k, n] of [
      ['big', 41],
      ['a', 40],
      ['b', 40],
    ] as const) {
      c.beginFill(k);
      c.fill(k, buf(n));
    }
    expect(c.get('big')).toBeUndefined();
    expect(c.get('a')).toBeDefined(); // now the most recently used
    c.beginFill('c');
    c.fill('c', buf(40));
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBeDefined();
    expect(c.get('c')).toBeDefined();
    expect(c.size).toBe(80);
  });

  it('is told by the engine lock when an operation on a name is queued and when it ends', async () => {
    const { c } = cache();
    const lock = new KeyedLock((name) => c.forget(name));
    c.beginFill('a');
    c.fill('a', buf(10));
    c.beginFill('a'); // a read that started before the operation
    let release = () => {};
    const op = lock.run('a', () => new Promise<void>((r) => (release = r)));
    expect(c.get('a')).toBeUndefined(); // dropped when the operation was queued
    expect(lock.busy('a')).toBe(true); // so a download starting now does not fill
    c.fill('a', buf(10, 7));
    expect(c.get('a')).toBeUndefined();
    await new Promise((r) => setImmediate(r));
    c.beginFill('a');
    c.fill('a', buf(10, 8)); // even a fill that slipped in while the operation ran
    release();
    await op;
    expect(lock.busy('a')).toBe(false);
    expect(c.get('a')).toBeUndefined(); // the end of the operation drops it again
  });
});
