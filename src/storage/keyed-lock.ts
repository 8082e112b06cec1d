/** Serialises operations on one file name (append/modify/truncate/delete of the same appender). */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** `onChange(key)` runs when an operation on `key` is queued and again when it has finished. */
  constructor(private readonly onChange?: (key: string) => void) {}

  /** Whether an operation on `key` is queued or running. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    this.onChange?.(key);
    const prev = this.tails.get(key) ?? Promise.resolve();
    const result = prev.then(fn, fn);
    const tail = result.catch(() => {});
    this.tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
      this.onChange?.(key);
    }
  }
}
