/**
 * Small local files kept in memory, least recently used out first. This is the hot path's design:
 * a cached file is answered with one writeHead + end(Buffer) and no fs call at all for
 * http.cache.revalidate ms, after which one stat confirms it. Content under a name never changes
 * (names carry size and crc32, links never replace), so a stat only has to catch deletes.
 */
import type { HeaderFacts } from './file-headers.js';

export interface FileFacts extends HeaderFacts {
  readonly size: number;
  readonly lastModifiedSec: number;
}

export interface CacheEntry {
  readonly remote: string;
  readonly facts: FileFacts;
  readonly mtimeMs: number;
  readonly data: Buffer;
  /** When the disk last confirmed the file (ms). */
  checkedAt: number;
  /** The 200 headers of a plain public GET, built once. */
  plain?: Record<string, string>;
}

export class FileCache {
  private readonly entries = new Map<string, CacheEntry>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(
    readonly maxFileSize: number,
    private readonly maxMemory: number,
  ) {}

  /** The entry for `remote`, marked most recently used. */
  get(remote: string): CacheEntry | undefined {
    const e = this.entries.get(remote);
    if (e === undefined) return undefined;
    this.entries.delete(remote);
    this.entries.set(remote, e);
    return e;
  }

  /** Whether a file of `size` bytes is worth keeping. */
  fits(size: number): boolean {
    return size <= this.maxFileSize && size <= this.maxMemory;
  }

  set(entry: CacheEntry): void {
    if (!this.fits(entry.data.length)) return;
    this.delete(entry.remote);
    this.entries.set(entry.remote, entry);
    this.bytes += entry.data.length;
    for (const [key, old] of this.entries) {
      if (this.bytes <= this.maxMemory) break;
      this.entries.delete(key);
      this.bytes -= old.data.length;
    }
  }

  delete(remote: string): void {
    const e = this.entries.get(remote);
    if (e === undefined) return;
    this.entries.delete(remote);
    this.bytes -= e.data.length;
  }

  gauges() {
    return { entries: this.entries.size, bytes: this.bytes, hits: this.hits, misses: this.misses };
  }
}
