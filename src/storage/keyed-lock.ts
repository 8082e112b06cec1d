/** Serialises operations on one file name (append/modify/truncate/delete of the same appender). */

/**
 * Told when an operation on a name is queued and when it is done; the operation completes only
 * once the 'done' call has settled (it must not throw).
 */
export type LockHook = (key: string, phase: 'queued' | 'done') => void | Promise<void>;

export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  constructor(private readonly onChange?: LockHook) {}

  /** Whether an operation on `key` is queued or running. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }

  /** `fresh`: the name is being created, nobody can have read it yet, so the hook is not told. */
  async run<T>(key: string, fn: () => Promise<T>, opts?: { readonly fresh?: boolean }): Promise<T> {
    const hook = opts?.fresh ? undefined : this.onChange;
    void hook?.(key, 'queued');
    const prev = this.tails.get(key) ?? Promise.resolve();
    const result = prev.then(fn, fn);
    const tail = result.catch(() => {});
    this.tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
      await hook?.(key, 'done');
    }
  }
}
