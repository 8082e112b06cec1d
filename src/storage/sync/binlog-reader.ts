/**
 * Reads binlog records from a position (binlog index + byte offset) onwards, across rotated
 * files, while the Binlog keeps appending. Only complete lines are returned: a line still being
 * written is left for the next call. One reader per peer, as FastDFS' StorageBinLogReader.
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Binlog } from '../binlog.js';
import { type BinlogPosition, type PositionedRecord, parseRecord } from './record.js';

const CHUNK = 64 * 1024;

export interface BinlogReaderOptions {
  readonly dir: string;
  /** The index the Binlog writes to now; older files are complete. */
  readonly currentIndex: () => number;
  /** Called for a line that is not a record (a crash can tear the last line of a file). */
  readonly onBadLine: (line: string, at: BinlogPosition) => void;
}

export class BinlogReader {
  private fh: FileHandle | undefined;
  private fhIndex = -1;
  private pos: BinlogPosition;
  private readonly buf = Buffer.allocUnsafe(CHUNK);

  constructor(
    private readonly opts: BinlogReaderOptions,
    start: BinlogPosition,
  ) {
    this.pos = start;
  }

  get position(): BinlogPosition {
    return this.pos;
  }

  /** Up to `max` records after the current position; [] when the reader is at the end. */
  async read(max = 256): Promise<PositionedRecord[]> {
    const out: PositionedRecord[] = [];
    while (out.length < max) {
      const fh = await this.handle();
      if (!fh) {
        if (!this.moveOn()) return out;
        continue;
      }
      const { bytesRead } = await fh.read(this.buf, 0, CHUNK, this.pos.offset);
      if (bytesRead === 0) {
        if (!this.moveOn()) return out;
        continue;
      }
      const data = this.buf.subarray(0, bytesRead);
      const base = this.pos;
      let start = 0;
      for (let nl = data.indexOf(10); nl >= 0 && out.length < max; nl = data.indexOf(10, start)) {
        const line = data.toString('utf8', start, nl);
        const at = { index: base.index, offset: base.offset + start };
        start = nl + 1;
        this.pos = { index: base.index, offset: base.offset + start };
        const record = parseRecord(line);
        if (record) out.push({ record, next: this.pos });
        else this.opts.onBadLine(line, at);
      }
      if (start > 0) continue;
      // No complete line: garbage if the chunk is full, a torn tail at the end of an older file,
      // else a line still being written.
      if (bytesRead === CHUNK) {
        this.opts.onBadLine(`<${CHUNK} bytes without a newline>`, this.pos);
        this.pos = { index: this.pos.index, offset: this.pos.offset + CHUNK };
        continue;
      }
      if (this.pos.index < this.opts.currentIndex()) {
        this.opts.onBadLine(data.toString('utf8'), this.pos);
        this.pos = { index: this.pos.index + 1, offset: 0 };
        continue;
      }
      return out;
    }
    return out;
  }

  /** At the end of a file: on to the next one if the Binlog has moved on. */
  private moveOn(): boolean {
    if (this.pos.index >= this.opts.currentIndex()) return false;
    this.pos = { index: this.pos.index + 1, offset: 0 };
    return true;
  }

  private async handle(): Promise<FileHandle | undefined> {
    if (this.fh && this.fhIndex === this.pos.index) return this.fh;
    await this.close();
    try {
      this.fh = await open(join(this.opts.dir, Binlog.fileName(this.pos.index)), 'r');
      this.fhIndex = this.pos.index;
      return this.fh;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    this.fhIndex = -1;
    await fh?.close();
  }
}
