/**
 * Small objects' bytes kept in memory, least recently used out first: a GetObject of a cached file
 * costs no fs call (the direct-URL path does the same). A FastDFS file id never names other bytes
 * (the name carries time, size and CRC32), so an entry only goes stale when its file is deleted,
 * and this endpoint's deletes evict it. An imported appender file is the exception: it never comes here.
 */
export class SmallFiles {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(
    readonly maxFileSize = 256 * 1024,
    private readonly maxMemory = 64 * 1024 * 1024,
  ) {}

  /** The most recently used id: a hit on it needs no move to the end of the order. */
  private newest: string | undefined;

  get(fileId: string): Buffer | undefined {
    const data = this.entries.get(fileId);
    if (data === undefined) return undefined;
    if (fileId !== this.newest) {
      this.entries.delete(fileId);
      this.entries.set(fileId, data);
      this.newest = fileId;
    }
    return data;
  }

  set(fileId: string, data: Buffer): void {
    if (data.length > this.maxFileSize || data.length > this.maxMemory) return;
    this.delete(fileId);
    this.entries.set(fileId, data);
    this.newest = fileId;
    this.bytes += data.length;
    for (const [key, old] of this.entries) {
      if (this.bytes <= this.maxMemory) break;
      this.entries.delete(key);
      this.bytes -= old.length;
    }
  }

  delete(fileId: string): void {
    const data = this.entries.get(fileId);
    if (data === undefined) return;
    this.entries.delete(fileId);
    if (this.newest === fileId) this.newest = undefined;
    this.bytes -= data.length;
  }
}
