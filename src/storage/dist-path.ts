/**
 * Chooses the `HH/LL` subdirectory of a new file (fact sheet §5.3). Mode 0 rotates: every
 * `rotateCount` files the low dir advances; the counters persist in `storage_stat.dat` so a
 * restart continues where it stopped. Mode 1 hashes the name.
 */
import { readFile } from 'node:fs/promises';
import { randomSubdirs } from '../fileid/index.js';
import { writeFileAtomic } from './durable.js';

export class DistPath {
  private high = 0;
  private low = 0;
  private count = 0;
  private dirty = false;
  private saving: Promise<void> | undefined;

  constructor(
    private readonly statFile: string,
    private readonly mode: 0 | 1,
    private readonly subdirCount: number,
    private readonly rotateCount: number,
  ) {}

  async load(): Promise<void> {
    let text = '';
    try {
      text = await readFile(this.statFile, 'utf8');
    } catch {
      return; // a new storage starts at 00/00
    }
    const get = (k: string) => Number(new RegExp(`^${k}=(\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    this.high = get('dist_path_index_high') % this.subdirCount;
    this.low = get('dist_path_index_low') % this.subdirCount;
    this.count = get('dist_write_file_count');
  }

  next(base64Part: string): { high: number; low: number } {
    if (this.mode === 1) return randomSubdirs(base64Part, this.subdirCount);
    const at = { high: this.high, low: this.low };
    this.count++;
    if (this.count >= this.rotateCount) {
      this.count = 0;
      this.low++;
      if (this.low >= this.subdirCount) {
        this.low = 0;
        this.high = (this.high + 1) % this.subdirCount;
      }
    }
    this.dirty = true;
    return at;
  }

  /** Called on a timer and at close; losing the last few counts only changes which dir is next. */
  async save(): Promise<void> {
    if (!this.dirty || this.saving) return this.saving;
    this.dirty = false;
    const text = `dist_path_index_high=${this.high}\ndist_path_index_low=${this.low}\ndist_write_file_count=${this.count}\n`;
    this.saving = writeFileAtomic(this.statFile, text).finally(() => {
      this.saving = undefined;
    });
    return this.saving;
  }
}
