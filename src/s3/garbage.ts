/**
 * The garbage drain: deletes the FastDFS files the namespace released (a replaced or deleted
 * object, an aborted upload, a part sent again) and acknowledges them. It runs after writes that
 * may release files and on a timer; a file that cannot be deleted now stays queued for later.
 */
import type { Logger } from '../common/index.js';
import type { Namespace } from '../namespace/index.js';

const BATCH = 64;
const PARALLEL = 4;

export class GarbageDrain {
  private running: Promise<void> | undefined;
  private again = false;
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
    this.timer = setInterval(() => this.kick(), intervalMs);
    this.timer.unref();
  }

  /** Starts a pass now (or one more right after the running one). */
  kick(): void {
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
          this.kick();
        }
      });
  }

  /** Resolves when no pass is running (tests wait on this after a write). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
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
