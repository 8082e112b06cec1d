/**
 * Upload intents, so `fdfs s3 gc` can find the file of an upload that crashed between the
 * storage's answer and the namespace commit. The storage names a file by its size and CRC-32 and
 * can only name it once the last byte arrived; the file must not exist (in the binlog, under its
 * name) before its intent (group, size, CRC-32, time) is durable in the namespace. A remote
 * storage is held off by `gate`, which keeps the last chunk back until then; the local one by
 * `alongside`, which lets it write and sync the bytes meanwhile and waits only before the name.
 * An intent is finished once its file is referenced; finished ones are cleared with the next
 * intent's own write (or by a sweep when uploads stop), so a PUT costs one extra durable write,
 * batched with its neighbours.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { Crc32, type Logger } from '../common/index.js';
import type { Namespace } from '../namespace/index.js';

/** How long a stored file may wait for its commit before its intent is left to gc. */
const SETTLE_MS = 60_000;
/** Settled uploads a sweep checks at once. */
const SWEEP_PARALLEL = 256;

interface Settled {
  readonly id: number;
  readonly fileId: string;
  readonly at: number;
}

export class IntentLog {
  private settled: Settled[] = [];
  private finished: number[] = [];
  private readonly timer: NodeJS.Timeout;
  private sweeping: Promise<void> | undefined;

  constructor(
    private readonly ns: Namespace,
    private readonly now: () => number,
    private readonly logger: Logger,
    sweepMs = 5_000,
  ) {
    this.timer = setInterval(() => void this.sweep(), sweepMs);
    this.timer.unref();
  }

  /** Records an intent, durably, clearing the finished ones in the same write. */
  async record(group: string, size: number, crc32: number): Promise<number> {
    const done = this.finished.splice(0);
    try {
      return await this.ns.recordIntent({ group, size, crc32, at: this.now() }, done);
    } catch (err) {
      this.finished.push(...done);
      throw err;
    }
  }

  /** The storage answered `fileId` for intent `id`: finished once a key or part names it. */
  settle(id: number, fileId: string): void {
    this.settled.push({ id, fileId, at: this.now() });
  }

  /** A Transform that holds the body's last chunk until `record` resolved for its size and CRC. */
  gate(group: string, onRecorded: (id: number) => void): Transform {
    const crc = new Crc32();
    let size = 0;
    let held: Buffer | undefined;
    return new Transform({
      transform(chunk: Buffer, _enc, cb: TransformCallback) {
        crc.update(chunk);
        size += chunk.length;
        const prev = held;
        held = chunk;
        cb(null, prev);
      },
      flush: (cb: TransformCallback) => {
        this.record(group, size, crc.value).then(
          (id) => {
            onRecorded(id);
            cb(null, held);
          },
          (err: unknown) => cb(err as Error),
        );
      },
    });
  }

  /**
   * For a store that can wait before naming its file (LocalUpload.commitAfter) and tells when the
   * body is written (LocalUpload.bodyEnded): `ended(size, crc32)` starts recording the intent from
   * the store's own count and CRC, and `recorded()`, which the store awaits after syncing the
   * file's bytes and before naming it, waits for that record. The intent's commit and the file's
   * sync run side by side instead of one after the other; the file still cannot appear (binlog
   * record, link) before its intent is durable.
   */
  alongside(group: string): {
    ended(size: number, crc32: number): void;
    /** Whether ended() was called. */
    readonly started: boolean;
    size(): number;
    recorded(): Promise<number>;
  } {
    let size = 0;
    let started = false;
    let resolve!: (id: number) => void;
    let reject!: (err: unknown) => void;
    const done = new Promise<number>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Awaited only once the file is synced: a failure before then must not count as unhandled.
    done.catch(() => {});
    return {
      ended: (n, crc32) => {
        if (started) return;
        started = true;
        size = n;
        this.record(group, n, crc32).then(resolve, reject);
      },
      get started() {
        return started;
      },
      size: () => size,
      recorded: () => done,
    };
  }

  sweep(): Promise<void> {
    this.sweeping ??= this.sweepOnce()
      .catch((err: unknown) => this.logger.warn('upload intent sweep failed', { err }))
      .finally(() => {
        this.sweeping = undefined;
      });
    return this.sweeping;
  }

  private async sweepOnce(): Promise<void> {
    const keep: Settled[] = [];
    const now = this.now();
    const pending = this.settled.splice(0);
    // Asked together, so a namespace behind a network (PostgreSQL) answers many in one round trip.
    for (let i = 0; i < pending.length; i += SWEEP_PARALLEL) {
      const some = pending.slice(i, i + SWEEP_PARALLEL);
      const named = await Promise.all(some.map((s) => this.ns.isReferenced(s.fileId)));
      some.forEach((s, k) => {
        if (named[k]) this.finished.push(s.id);
        // Never committed (refused, failed, or deleted already): fdfs s3 gc decides.
        else if (now - s.at < SETTLE_MS) keep.push(s);
      });
    }
    this.settled.push(...keep);
    const done = this.finished.splice(0);
    if (done.length > 0) await this.ns.clearIntents(done);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.sweep();
  }
}
