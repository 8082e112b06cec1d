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
import { type FileHandle, mkdir, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
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
  append(records: readonly TrunkRecord[], sync = true): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return this.appendText(records.map(formatTrunkRecord).join(''), sync);
  }

  /** Appends whole lines as the trunk server sent them (cmd 30): a peer's copy of its binlog. */
  appendText(data: string, sync = true): Promise<void> {
    if (data.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.pending.push({ data, sync, resolve, reject });
      this.pendingBytes += data.length;
      if (sync) this.due = true;
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

  /** Empties the file (cmd 33: the trunk server resends its binlog from the start). */
  async truncate(): Promise<void> {
    await this.settled();
    if (!this.fh) throw new Error('trunk binlog is not open');
    await this.fh.truncate(0);
    if (this.durable) await this.fh.sync();
    this.bytes = 0;
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
