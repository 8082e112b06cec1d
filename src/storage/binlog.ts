/**
 * The binlog replication reads (`<base_path>/data/sync/binlog.NNN`, lines `ts op name[ extra]`),
 * upper-case ops for changes made here, lower-case for ones applied from a peer. Lines are
 * group-committed: concurrent appends share one write and one fdatasync, and each append
 * resolves only once its line is on disk.
 */

import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './durable.js';
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

export class Binlog {
  private fh: FileHandle | undefined;
  private index = 0;
  private size = 0;
  private pending: Pending[] = [];
  private flushing: Promise<void> | undefined;
  /** Names deleted here (D/d) and not created again since, with the delete's timestamp. */
  readonly tombstones = new Tombstones();

  constructor(
    readonly dir: string,
    private readonly durable: boolean,
  ) {}

  static fileName(index: number): string {
    return `binlog.${index.toString().padStart(3, '0')}`;
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
    return new Promise((resolve, reject) => {
      this.pending.push({ line, resolve, reject });
      if (!this.flushing) this.flushing = this.flush();
    });
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        const data = Buffer.from(batch.map((p) => p.line).join(''), 'utf8');
        if (this.size + data.length > MAX_BINLOG_SIZE && this.size > 0) {
          await this.fh?.close();
          this.index++;
          await this.openCurrent();
        }
        if (!this.fh) throw new Error('binlog is not open');
        await this.fh.write(data);
        if (this.durable) await this.fh.datasync();
        this.size += data.length;
        for (const p of batch) p.resolve();
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.flushing = undefined;
  }

  async close(): Promise<void> {
    await this.flushing;
    await this.fh?.close();
    this.fh = undefined;
  }
}
