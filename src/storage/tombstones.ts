/**
 * Names this storage deleted (its own `D` or a peer's `d`) and has not created again since, with
 * the delete's timestamp. A sync create or update whose record is not newer than that delete is
 * stale: a peer replaying its binlog from an older mark (after a restart, or a lost ack) would
 * otherwise bring a deleted file back on this replica for good. FastDFS' sender skips a record
 * whose file is gone on its side; that does not help when the delete happened here and has not
 * reached the sender yet, so the receiver keeps the tombstones.
 *
 * Kept in memory, rebuilt at start from the tail of the binlog, and capped: a stale create comes
 * from a peer's unsaved mark or link retries, seconds behind, never from deletes far back.
 */
import { forEachTailLine } from './binlog-tail.js';
import { parseRecord } from './sync/record.js';

const CAP = 65_536;
/** How much of the binlog's end is read at start. */
const TAIL_BYTES = 8 * 1024 * 1024;
/** Deletes in this last stretch may have been logged but not yet carried out when a crash hit. */
const RECENT_BYTES = 1024 * 1024;

export class Tombstones {
  private readonly deleted = new Map<string, number>();
  private recentDeletes: string[] = [];

  get size(): number {
    return this.deleted.size;
  }

  /** The timestamp of the delete that still stands for `name`, if any. */
  deletedAt(name: string): number | undefined {
    return this.deleted.get(name);
  }

  /**
   * Whether a sync record for `name` (or, for a sidecar, its file) made at `ts` predates a delete
   * here. Same-second ties count as stale: a name created and deleted within one second is
   * usually the replay this guards against.
   */
  stale(names: readonly string[], ts: number): boolean {
    return names.some((n) => {
      const at = this.deleted.get(n);
      return at !== undefined && ts <= at;
    });
  }

  /** Follows every record as it is logged. */
  note(op: string, name: string, _extra: string | undefined, ts: number): void {
    switch (op.toUpperCase()) {
      case 'D':
        this.deleted.delete(name);
        this.deleted.set(name, ts);
        if (this.deleted.size > CAP) {
          const oldest = this.deleted.keys().next().value;
          if (oldest !== undefined) this.deleted.delete(oldest);
        }
        break;
      case 'C':
      case 'U':
      case 'L':
      case 'R':
        this.deleted.delete(name);
        break;
      default:
    }
  }

  /**
   * Names whose delete is among the last records read at start and still stands: the storage logs
   * a delete before it unlinks, so a crash in between leaves the file, and start finishes the job.
   */
  takeRecentDeletes(): string[] {
    const out = this.recentDeletes.filter((n) => this.deleted.has(n));
    this.recentDeletes = [];
    return out;
  }

  /** Replays the last TAIL_BYTES of the binlog (files `currentIndex` and older). */
  async load(dir: string, currentIndex: number): Promise<void> {
    await forEachTailLine(dir, currentIndex, TAIL_BYTES, (line, bytesAfter) => {
      const r = parseRecord(line);
      if (!r) return;
      this.note(r.op, r.name, undefined, r.ts);
      if (r.op.toUpperCase() === 'D' && bytesAfter < RECENT_BYTES) this.recentDeletes.push(r.name);
    });
  }
}
