/**
 * The garbage drain: deletes the FastDFS files the namespace released (a replaced or deleted
 * object, an aborted upload, a part sent again) and acknowledges them. It runs shortly after writes
 * that may release files and on a timer; a file that cannot be deleted now stays queued for later.
 */
import type { Logger } from '../common/index.js';
import type { Namespace } from '../namespace/index.js';

const BATCH = 64;
const PARALLEL = 4;
/**
 * Writes within this long share one pass. Most writes release nothing (a new key), yet each
 * looked at the queue: on PostgreSQL a round trip, measured at about 0.4 statements per
 * PutObject at 16 connections, as many as the intents' own.
 */
const KICK_DELAY_MS = 100;

export class GarbageDrain {
  private running: Promise<void> | undefined;
  private again = false;
  private kicked: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  /** Files deleted since start, for tests and logs. */
  deleted = 0;

  constructor(
    private readonly ns: Namespace,
    private readonly remove: (fileId: string) => Promise<void>,
    private readonly logger: Logger,
    intervalMs = 30_000,
  ) {
    this.timer = setInterval(() => this.start(), intervalMs);
    this.timer.unref();
  }

  /** A write may have released files: a pass starts within KICK_DELAY_MS. */
  kick(): void {
    if (this.closed || this.kicked) return;
    this.kicked = setTimeout(() => {
      this.kicked = undefined;
      this.start();
    }, KICK_DELAY_MS);
    this.kicked.unref();
  }

  /** Starts a pass now (or one more right after the running one). */
  private start(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass()
      .catch((err: unknown) => this.logger.warn('garbage drain pass failed', { err }))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.start();
        }
      });
  }

  /** Runs a pass a write asked for at once, and resolves when none is running (tests wait on this). */
  async idle(): Promise<void> {
    if (this.kicked) {
      clearTimeout(this.kicked);
      this.kicked = undefined;
      this.start();
    }
    while (this.running) await this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.kicked);
    this.kicked = undefined;
    await this.idle();
  }

  private async pass(): Promise<void> {
    for (;;) {
      if (this.closed) return;
      const batch = await this.ns.takeGarbage(BATCH);
      if (batch.length === 0) return;
      const done: number[] = [];
      let failed = 0;
      for (let i = 0; i < batch.length; i += PARALLEL) {
        await Promise.all(
          batch.slice(i, i + PARALLEL).map(async (g) => {
            try {
              await this.remove(g.fileId);
              done.push(g.seq);
            } catch (err) {
              failed++;
              this.logger.warn('could not delete a released file; it stays queued', {
                fileId: g.fileId,
                err,
              });
            }
          }),
        );
      }
      if (done.length > 0) await this.ns.ackGarbage(done);
      this.deleted += done.length;
      // The failures come back first in the next batch: stop here and let the timer retry.
      if (failed > 0 || batch.length < BATCH) return;
    }
  }
}
