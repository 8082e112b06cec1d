/**
 * The binlog replication reads (`<base_path>/data/sync/binlog.NNN`, lines `ts op name[ extra]`),
 * upper-case ops for changes made here, lower-case for ones applied from a peer. Lines are
 * group-committed: concurrent appends share one write and one fdatasync, and each append
 * resolves only once its line is on disk.
 */

import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { appendSync } from '../native/index.js';
import { binlogFileName } from './binlog-tail.js';
import { writeFileAtomic } from './durable.js';
import { appendFd, datasyncFd } from './fd-io.js';
import { Tombstones } from './tombstones.js';

export const BinlogOp = {
  CREATE: 'C',
  APPEND: 'A',
  DELETE: 'D',
  UPDATE: 'U',
  MODIFY: 'M',
  TRUNCATE: 'T',
  LINK: 'L',
  RENAME: 'R',
} as const;
export type BinlogOpCode = (typeof BinlogOp)[keyof typeof BinlogOp];

const MAX_BINLOG_SIZE = 1024 * 1024 * 1024;

interface Pending {
  line: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Where a non-durable binlog's writes go: the storage's disk writer (the native addon's
 * one-thread lane, native-disk.ts, or the disk thread, disk-thread.ts), which writes them in the
 * order asked, between the files it creates.
 */
export interface BinlogWriter {
  append(fd: number, text: string): Promise<void>;
  /** Resolves once every write asked for so far is done (before the file is closed). */
  drain(): Promise<void>;
}

export class Binlog {
  private fh: FileHandle | undefined;
  private index = 0;
  private size = 0;
  private pending: Pending[] = [];
  private flushing: Promise<void> | undefined;
  /** Names deleted here (D/d) and not created again since, with the delete's timestamp. */
  readonly tombstones = new Tombstones();
  private readonly writer: BinlogWriter | undefined;

  constructor(
    readonly dir: string,
    private readonly durable: boolean,
    writer?: BinlogWriter,
  ) {
    // Durable lines wait for an fdatasync, which stays on the pool (group-committed below).
    this.writer = durable ? undefined : writer;
  }

  static fileName(index: number): string {
    return binlogFileName(index);
  }

  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    this.index = await this.readIndex();
    await this.openCurrent();
    await this.tombstones.load(this.dir, this.index);
  }

  get currentIndex(): number {
    return this.index;
  }

  private async readIndex(): Promise<number> {
    for (const name of ['binlog_index.dat', 'binlog.index']) {
      try {
        const text = await readFile(join(this.dir, name), 'utf8');
        const m = /current_write\s*=\s*(\d+)/.exec(text) ?? /^(\d+)/.exec(text.trim());
        if (m?.[1]) return Number(m[1]);
      } catch {
        // absent: a new storage
      }
    }
    return 0;
  }

  private async openCurrent(): Promise<void> {
    const path = join(this.dir, Binlog.fileName(this.index));
    this.fh = await open(path, 'a+', 0o644);
    this.size = (await stat(path)).size;
    if (this.size > 0) {
      // A crash can leave a torn last line; end it so the next record starts on its own line
      // (readers skip the fragment instead of losing the record glued to it).
      const last = Buffer.alloc(1);
      await this.fh.read(last, 0, 1, this.size - 1);
      if (last[0] !== 0x0a) {
        await this.fh.write('\n');
        this.size += 1;
      }
    }
    await writeFileAtomic(
      join(this.dir, 'binlog_index.dat'),
      `current_write=${this.index}\ncurrent_compress=0\n`,
      this.durable,
    );
  }

  /** Appends one record; resolves once it is written (and synced, in durable mode). */
  append(op: string, name: string, extra?: string, timestamp = Math.floor(Date.now() / 1000)): Promise<void> {
    const line = `${timestamp} ${op} ${name}${extra ? ` ${extra}` : ''}\n`;
    this.tombstones.note(op, name, extra, timestamp);
    const fd = this.reserve(line);
    if (fd !== undefined && this.writer) return this.writer.append(fd, line);
    return new Promise((resolve, reject) => {
      this.pending.push({ line, resolve, reject });
      if (!this.flushing) this.flushing = this.flush();
    });
  }

  /**
   * A record for the writer's next job to write itself (the disk writer writes an upload's record
   * and then its file in one job): counted here now, written by that job. undefined when there is
   * no writer or lines are queued (a new binlog file being opened): append() it then.
   */
  claim(
    op: string,
    name: string,
    extra?: string,
    timestamp = Math.floor(Date.now() / 1000),
  ): { fd: number; text: string } | undefined {
    const text = `${timestamp} ${op} ${name}${extra ? ` ${extra}` : ''}\n`;
    const fd = this.reserve(text);
    if (fd === undefined) return undefined;
    this.tombstones.note(op, name, extra, timestamp);
    return { fd, text };
  }

  /** The open file's fd, with `line` counted, when a writer may write it now (in order). */
  private reserve(line: string): number | undefined {
    if (!this.writer || !this.fh || this.flushing || this.pending.length > 0) return undefined;
    const n = Buffer.byteLength(line);
    if (this.size + n > MAX_BINLOG_SIZE && this.size > 0) return undefined;
    this.size += n;
    return this.fh.fd;
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        const text = batch.map((p) => p.line).join('');
        const bytes = Buffer.byteLength(text, 'utf8');
        if (this.size + bytes > MAX_BINLOG_SIZE && this.size > 0) {
          // The writer may still hold lines for the old file's fd: they go first.
          await this.writer?.drain();
          await this.fh?.close();
          this.index++;
          await this.openCurrent();
        }
        if (!this.fh) throw new Error('binlog is not open');
        if (this.writer) {
          // The writer takes the text as it is (the disk thread posts it; the addon's jobs encode it once).
          await this.writer.append(this.fh.fd, text);
          if (this.durable) await datasyncFd(this.fh.fd);
        } else {
          const data = Buffer.from(text, 'utf8');
          // On the fd with the callback calls: once per group in durable mode, where the
          // FileHandle's object and promises cost about twice the CPU per call (see fd-io.ts).
          if (appendSync)
            await appendSync(this.fh.fd, data, this.durable); // write and fdatasync: one job
          else {
            await appendFd(this.fh.fd, data);
            if (this.durable) await datasyncFd(this.fh.fd);
          }
        }
        this.size += bytes;
        for (const p of batch) p.resolve();
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.flushing = undefined;
  }

  async close(): Promise<void> {
    await this.flushing;
    await this.writer?.drain();
    await this.fh?.close();
    this.fh = undefined;
  }
}
