/**
 * Records pushed to a peer over several connections at once. All records of one file (its `-m`
 * sidecar included) go down the same lane, so they apply in binlog order; a rename, which names
 * two files, waits until every lane is idle. Records are acknowledged to the caller in binlog
 * order only: the sync mark never passes a record the peer has not applied, so after a broken
 * link the pusher resends from the first unacknowledged one, and applying a record twice is
 * harmless (apply.ts). With one lane and a depth of one this is FastDFS' one record at a time.
 */
import type { BinlogPosition, BinlogRecord } from './record.js';
import type { SendResult } from './send.js';

export interface Lane {
  record(r: BinlogRecord): Promise<SendResult>;
}

export interface WindowHooks {
  /** A record the peer applied (in any order). */
  sent(r: BinlogRecord, result: SendResult): void;
  /** A record failed; the window stops taking records and drain() throws `err`. */
  failed(r: BinlogRecord, err: unknown): void;
  /** The next record in binlog order is done: the mark may move to `next`. */
  acked(next: BinlogPosition, sourceTs: number): void;
}

interface Slot {
  readonly next: BinlogPosition;
  /** The record's timestamp when it is a source record, else 0 (for watermark claims). */
  readonly sourceTs: number;
  done: boolean;
  readonly settled: Promise<void>;
}

const SETTLED = Promise.resolve();

/** FNV-1a over the file's name, sidecar suffix dropped: one file, one lane. */
function laneIndex(name: string, lanes: number): number {
  const base = name.endsWith('-m') ? name.length - 2 : name.length;
  let h = 0x811c9dc5;
  for (let i = 0; i < base; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return (h >>> 0) % lanes;
}

export class PushWindow {
  private readonly tails: Promise<void>[];
  private readonly slots: Slot[] = [];
  private head = 0;
  private inflight = 0;
  private failure: { err: unknown } | undefined;

  constructor(
    private readonly lanes: readonly Lane[],
    private readonly depth: number,
    private readonly hooks: WindowHooks,
  ) {
    if (lanes.length === 0) throw new RangeError('a push window needs a lane');
    this.tails = lanes.map(() => SETTLED);
  }

  get width(): number {
    return this.lanes.length;
  }

  /** A record that is not pushed (a replica line): acknowledged once those before it are. */
  skip(next: BinlogPosition): void {
    this.slots.push({ next, sourceTs: 0, done: true, settled: SETTLED });
    this.advance();
  }

  /** Queues `r`; resolves once it is on its way (at most `depth` records are in flight). */
  async push(r: BinlogRecord, next: BinlogPosition, sourceTs: number): Promise<void> {
    this.throwIfFailed();
    let lane: number;
    if (r.op.toUpperCase() === 'R') {
      await this.drain();
      lane = 0;
    } else {
      lane = laneIndex(r.name, this.lanes.length);
    }
    while (this.inflight >= this.depth) {
      await this.oldestPending();
      this.throwIfFailed();
    }
    let settle!: () => void;
    const slot: Slot = { next, sourceTs, done: false, settled: new Promise((res) => (settle = res)) };
    this.slots.push(slot);
    this.inflight++;
    const sender = this.lanes[lane] as Lane;
    this.tails[lane] = (this.tails[lane] as Promise<void>)
      .then(async () => {
        if (this.failure) return;
        try {
          this.hooks.sent(r, await sender.record(r));
          slot.done = true;
        } catch (err) {
          if (!this.failure) {
            this.failure = { err };
            this.hooks.failed(r, err);
          }
        }
      })
      .finally(() => {
        this.inflight--;
        settle();
        this.advance();
      });
  }

  /** Waits for every queued record; throws the first failure. */
  async drain(): Promise<void> {
    await Promise.all(this.tails);
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.err;
  }

  private oldestPending(): Promise<void> {
    for (let i = this.head; i < this.slots.length; i++) {
      const s = this.slots[i] as Slot;
      if (!s.done) return s.settled;
    }
    return SETTLED;
  }

  private advance(): void {
    while (this.head < this.slots.length) {
      const s = this.slots[this.head] as Slot;
      if (!s.done) break;
      this.head++;
      this.hooks.acked(s.next, s.sourceTs);
    }
    // Compacted now and then rather than shifted per record.
    if (this.head > 1024 && this.head * 2 > this.slots.length) {
      this.slots.splice(0, this.head);
      this.head = 0;
    }
  }
}
