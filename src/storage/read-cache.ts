/**
 * Small stored files kept in memory for downloads, least recently used out first. A 4 KB download
 * otherwise costs open, pread and close on libuv's thread pool: strace counted ~18 futex calls
 * per download with four pool threads (each hand-off wakes a thread), FastDFS ~1.
 *
 * Exact for this process: a stored file's content only changes inside the engine's lock on its
 * name (upload, delete, appender writes, replicas' applies), and the lock calls forget() when it
 * is taken and when it is released. A download only fills the cache when no lock is held on the
 * name as it starts, and a forget() between that start and the fill cancels the fill, so no
 * entry outlives a change made here. Changes made behind the storage's back (another process,
 * an operator) are seen after `revalidateMs`, when an entry stops being served.
 */
export interface ReadCacheOptions {
  /** Files larger than this are never kept; 0 turns the cache off. */
  readonly maxFileSize: number;
  readonly maxMemory: number;
  readonly revalidateMs: number;
  readonly now?: () => number;
}

interface Entry {
  readonly data: Buffer;
  /** The whole-file download reply (header + data), when the filler made one: one write. */
  readonly reply: Buffer | undefined;
  readonly at: number;
}

export class ReadCache {
  private readonly entries = new Map<string, Entry>();
  /** Names with a fill in flight (count), and those of them forgotten meanwhile. */
  private readonly filling = new Map<string, number>();
  private readonly spoiled = new Set<string>();
  private bytes = 0;
  private readonly now: () => number;

  constructor(private readonly o: ReadCacheOptions) {
    this.now = o.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.o.maxFileSize > 0 && this.o.maxMemory > 0;
  }

  /** Whether a file of `size` bytes would be kept. */
  fits(size: number): boolean {
    return size <= this.o.maxFileSize && size <= this.o.maxMemory;
  }

  /** The whole content of `remote`, if cached and still fresh (marked most recently used). */
  get(remote: string): Buffer | undefined {
    return this.entry(remote)?.data;
  }

  /** The whole-file download reply kept with `remote`'s content, if there is one and it is fresh. */
  reply(remote: string): Buffer | undefined {
    return this.entry(remote)?.reply;
  }

  private entry(remote: string): Entry | undefined {
    const e = this.entries.get(remote);
    if (e === undefined) return undefined;
    this.entries.delete(remote);
    if (this.now() - e.at >= this.o.revalidateMs) {
      this.bytes -= e.data.length;
      return undefined;
    }
    this.entries.set(remote, e);
    return e;
  }

  /** Announces a read that may fill the entry; end it with fill() or cancel(). */
  beginFill(remote: string): void {
    this.filling.set(remote, (this.filling.get(remote) ?? 0) + 1);
  }

  /**
   * Ends a fill: `data` (the whole file, never modified afterwards) is kept unless spoiled, with
   * `reply` (header + data, ending in the same bytes) when given.
   */
  fill(remote: string, data: Buffer | undefined, reply?: Buffer): void {
    const spoiled = this.spoiled.has(remote);
    const n = (this.filling.get(remote) ?? 1) - 1;
    if (n > 0) this.filling.set(remote, n);
    else {
      this.filling.delete(remote);
      this.spoiled.delete(remote);
    }
    if (data === undefined || spoiled || !this.fits(data.length)) return;
    this.drop(remote);
    this.entries.set(remote, { data, reply, at: this.now() });
    this.bytes += data.length;
    for (const [key, old] of this.entries) {
      if (this.bytes <= this.o.maxMemory) break;
      this.entries.delete(key);
      this.bytes -= old.data.length;
    }
  }

  /** `remote` is changing or changed: drop it, and spoil any fill in flight. */
  forget(remote: string): void {
    this.drop(remote);
    if (this.filling.has(remote)) this.spoiled.add(remote);
  }

  private drop(remote: string): void {
    const e = this.entries.get(remote);
    if (e === undefined) return;
    this.entries.delete(remote);
    this.bytes -= e.data.length;
  }

  /** Cached bytes (for tests and metrics). */
  get size(): number {
    return this.bytes;
  }
}
