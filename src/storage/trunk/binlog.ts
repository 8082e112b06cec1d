/**
 * The trunk binlog, `<base_path>/data/trunk/binlog` (trunk_sync.c): the trunk server's log of
 * free space, one line per change, `<ts> <op> <path> <high> <low> <id> <offset> <size>`, op `A`
 * (space became free) or `D` (free space taken). Replaying it from the offset saved in
 * storage_trunk.dat gives the free list; peers keep a copy so any of them can take over.
 * Appends are group-committed: concurrent records share one write and, durable, one fdatasync.
 * Records nobody waits for (a slot handed out, a slot confirmed by this storage's own upload)
 * are written LAZY_MS later with whatever came meanwhile, or sooner with a record somebody
 * waits for: written one or two at a time, they cost the event loop a pool job each, ~11 µs
 * per durable trunk upload. A crash loses at most those milliseconds of them, as it loses
 * written-but-unsynced records anyway; the load's check against the binlog (reconcile.ts)
 * covers both.
 */
import { type FileHandle, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { syncDir, writeFileAtomic } from '../../common/index.js';
import { appendSync } from '../../native/index.js';
import type { TrunkSlot } from './slot.js';

export const TrunkOp = { ADD: 'A', DEL: 'D' } as const;
export type TrunkOpCode = (typeof TrunkOp)[keyof typeof TrunkOp];

export interface TrunkRecord {
  readonly ts: number;
  readonly op: TrunkOpCode;
  readonly slot: TrunkSlot;
}

export function trunkBinlogPath(basePath: string): string {
  return join(basePath, 'data', 'trunk', 'binlog');
}

export function formatTrunkRecord(r: TrunkRecord): string {
  const s = r.slot;
  return `${r.ts} ${r.op} ${s.storePathIndex} ${s.subdirHigh} ${s.subdirLow} ${s.id >>> 0} ${s.offset} ${s.size}\n`;
}

const INT = /^-?\d{1,10}$/;

/**
 * A line of the binlog or of storage_trunk.dat (8 fields; the .dat of releases before 5.01 has
 * 6, without time and op). Undefined for a line that is not a record (torn by a crash).
 */
export function parseTrunkRecord(line: string): TrunkRecord | undefined {
  const f = line.trim().split(' ');
  if (f.length !== 8 && f.length !== 6) return undefined;
  if (!f.every((x, i) => (f.length === 8 && i === 1 ? x === 'A' || x === 'D' : INT.test(x))))
    return undefined;
  const n = f.map(Number);
  const at = f.length === 8 ? 2 : 0;
  const [spi, high, low, id, offset, size] = n.slice(at) as [number, number, number, number, number, number];
  if (spi < 0 || spi > 255 || high < 0 || high > 255 || low < 0 || low > 255) return undefined;
  if (offset < 0 || size <= 0) return undefined;
  return {
    ts: f.length === 8 ? (n[0] ?? 0) : 0,
    op: f.length === 8 ? (f[1] as TrunkOpCode) : TrunkOp.ADD,
    slot: { storePathIndex: spi, subdirHigh: high, subdirLow: low, id: id >>> 0, offset, size },
  };
}

/** The records of `text`; torn or foreign lines are skipped. */
export function parseTrunkLines(text: string): TrunkRecord[] {
  const out: TrunkRecord[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const r = parseTrunkRecord(line);
    if (r) out.push(r);
  }
  return out;
}

/** How long a record nobody waits for waits for company. */
const LAZY_MS = 10;
/** ... or until this many bytes of them gather. */
const LAZY_BYTES = 64 * 1024;

/** `YYYYMMDDhhmmss`, local time: the suffix of a trunk binlog backup (trunk_sync.c). */
export function backupStamp(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${d.getFullYear()}${two(d.getMonth() + 1)}${two(d.getDate())}` +
    `${two(d.getHours())}${two(d.getMinutes())}${two(d.getSeconds())}`
  );
}

/** Removes the oldest backups of `path` beyond `keep`. */
async function pruneBackups(path: string, keep: number): Promise<void> {
  const prefix = `${basename(path)}.`;
  const backups = (await readdir(dirname(path)))
    .filter((n) => n.startsWith(prefix) && /^\d{14}$/.test(n.slice(prefix.length)))
    .sort();
  for (const name of backups.slice(0, Math.max(0, backups.length - keep))) {
    await unlink(join(dirname(path), name)).catch(() => {});
  }
}

interface Pending {
  readonly data: string;
  /** Wants the write on disk before it resolves (durable mode). */
  readonly sync: boolean;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export class TrunkBinlog {
  private fh: FileHandle | undefined;
  private bytes = 0;
  private pending: Pending[] = [];
  private pendingBytes = 0;
  /** A pending record somebody waits for, or the lazy wait is over: write now. */
  private due = false;
  private lazyTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /** Written but not synced yet (appends that did not ask). */
  private unsynced = false;

  constructor(
    readonly path: string,
    private readonly durable: boolean,
  ) {}

  /** Bytes written so far (what storage_trunk.dat's first line and cmd 31 report). */
  get size(): number {
    return this.bytes;
  }

  async open(): Promise<void> {
    await mkdir(join(this.path, '..'), { recursive: true });
    this.fh = await open(this.path, 'a+', 0o644);
    this.bytes = (await stat(this.path)).size;
    if (this.bytes > 0) {
      // A crash can tear the last line; end it so the next record is not glued to the fragment.
      const last = Buffer.alloc(1);
      await this.fh.read(last, 0, 1, this.bytes - 1);
      if (last[0] !== 0x0a) {
        await this.fh.write('\n');
        this.bytes += 1;
      }
    }
  }

  /**
   * Appends records; resolves once they are written, and on disk (durable) unless `sync` is
   * false: a later synced append, or close(), takes them to the disk then.
   */
  append(records: readonly TrunkRecord[], sync = true, prompt = sync): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return this.appendText(records.map(formatTrunkRecord).join(''), sync, prompt);
  }

  /**
   * Appends whole lines as the trunk server sent them (cmd 30): a peer's copy of its binlog.
   * `prompt`: written without the lazy wait even when not synced (a peer is to be sent it).
   */
  appendText(data: string, sync = true, prompt = sync): Promise<void> {
    if (data.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.pending.push({ data, sync, resolve, reject });
      this.pendingBytes += data.length;
      if (prompt) this.due = true;
      this.kick();
    });
  }

  /** A flush now when one is due (or enough is pending), else the lazy wait. */
  private kick(): void {
    if (this.flushing || this.pending.length === 0) return;
    if (this.due || this.pendingBytes >= LAZY_BYTES) {
      clearTimeout(this.lazyTimer);
      this.lazyTimer = undefined;
      this.flushing = this.flush();
    } else {
      this.lazyTimer ??= setTimeout(() => {
        this.lazyTimer = undefined;
        this.due = true;
        this.kick();
      }, LAZY_MS);
    }
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0 && (this.due || this.pendingBytes >= LAZY_BYTES)) {
      const batch = this.pending;
      this.pending = [];
      this.pendingBytes = 0;
      this.due = false;
      try {
        if (!this.fh) throw new Error('trunk binlog is not open');
        const data = Buffer.from(batch.map((p) => p.data).join(''), 'latin1');
        const sync = this.durable && batch.some((p) => p.sync);
        if (appendSync)
          await appendSync(this.fh.fd, data, sync); // one pool job (native addon)
        else {
          await this.fh.write(data);
          if (sync) await this.fh.datasync();
        }
        this.unsynced = !sync;
        this.bytes += data.length;
        for (const p of batch) p.resolve();
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.flushing = undefined;
    this.kick(); // what came meanwhile and nobody waits for waits its LAZY_MS
  }

  /** Up to `max` bytes written at `offset` and after (what a peer is sent next). */
  async readChunk(offset: number, max: number): Promise<Buffer> {
    if (!this.fh) throw new Error('trunk binlog is not open');
    const len = Math.max(0, Math.min(max, this.bytes - offset));
    const buf = Buffer.alloc(len);
    let got = 0;
    while (got < len) {
      const { bytesRead } = await this.fh.read(buf, got, len - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  }

  /**
   * Empties the file (cmd 33: the trunk server resends its binlog from the start). With
   * `maxBackups` (trunk_binlog_max_backups) the old copy stays as `binlog.YYYYMMDDhhmmss` (local
   * time, FastDFS' name), and the oldest of them beyond that many go.
   */
  async truncate(maxBackups = 0): Promise<void> {
    await this.settled();
    await this.exclusive(async (fh) => {
      if (maxBackups > 0 && this.bytes > 0) {
        await fh.close();
        this.fh = undefined;
        await rename(this.path, `${this.path}.${backupStamp(new Date())}`);
        this.fh = await open(this.path, 'a+', 0o644);
        if (this.durable) await syncDir(dirname(this.path));
        await pruneBackups(this.path, maxBackups);
      } else {
        await fh.truncate(0);
        if (this.durable) await fh.sync();
      }
      this.bytes = 0;
      this.unsynced = false;
    });
  }

  /** Runs `task` with no write under way and appends held back until it ends. */
  private async exclusive<T>(task: (fh: FileHandle) => Promise<T>): Promise<T> {
    while (this.flushing) await this.flushing;
    if (!this.fh) throw new Error('trunk binlog is not open');
    let release = () => {};
    this.flushing = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      return await task(this.fh);
    } finally {
      this.flushing = undefined;
      release();
      this.kick();
    }
  }

  /**
   * The binlog becomes `snapshot()`'s lines (the free list as A records), in one rename, with
   * whatever is appended meanwhile after them. `snapshot` runs at the moment the records
   * appended so far and not yet written are taken off the queue: the list it describes already
   * holds their changes, so they are not written again (their callers resolve once the new file
   * is in place). If the new file cannot be put in place they are written to the old one.
   */
  async compact(snapshot: () => string): Promise<void> {
    await this.exclusive(async (fh) => {
      clearTimeout(this.lazyTimer);
      this.lazyTimer = undefined;
      const absorbed = this.pending;
      const absorbedBytes = this.pendingBytes;
      this.pending = [];
      this.pendingBytes = 0;
      const text = snapshot();
      let replaced = false;
      try {
        await writeFileAtomic(this.path, text, this.durable);
        replaced = true;
        await fh.close().catch(() => {});
        this.fh = undefined;
        this.fh = await open(this.path, 'a+', 0o644);
        this.bytes = Buffer.byteLength(text, 'latin1');
        this.unsynced = false;
        for (const p of absorbed) p.resolve();
      } catch (err) {
        if (replaced) {
          // Appends now fail loudly rather than go to the unlinked old file; the new file
          // holds the absorbed records' changes.
          for (const p of absorbed) p.resolve();
        } else {
          this.pending = absorbed.concat(this.pending);
          this.pendingBytes += absorbedBytes;
          this.due = true;
        }
        throw err;
      }
    });
  }

  /** Whatever was appended is written (not necessarily synced). */
  async settled(): Promise<void> {
    while (this.flushing || this.pending.length > 0) {
      this.due = true;
      this.kick();
      await this.flushing;
    }
  }

  /**
   * The records from byte `offset` on, each with the offset just past its line, read in 1 MB
   * pieces (the load's replay, a peer's catch-up). A torn last line is left for later.
   */
  async *records(offset: number): AsyncGenerator<{ record: TrunkRecord | undefined; end: number }> {
    await this.settled();
    const fh = await open(this.path, 'r');
    try {
      const buf = Buffer.alloc(1024 * 1024);
      let pos = offset;
      let carry = '';
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) return;
        pos += bytesRead;
        const text = carry + buf.toString('latin1', 0, bytesRead);
        let start = 0;
        let at = pos - Buffer.byteLength(text, 'latin1');
        for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
          const line = text.slice(start, nl);
          at += nl + 1 - start;
          start = nl + 1;
          yield { record: parseTrunkRecord(line), end: at };
        }
        carry = text.slice(start);
      }
    } finally {
      await fh.close();
    }
  }

  async close(): Promise<void> {
    await this.settled();
    if (this.durable && this.unsynced) await this.fh?.datasync().catch(() => {});
    await this.fh?.close();
    this.fh = undefined;
  }
}
