/**
 * One full garbage-queue drain, for `fdfs s3 gc`: deletes every file the namespace released (a
 * replaced or deleted object, an aborted upload, a part sent again) and acknowledges it. Unlike
 * the endpoint's GarbageDrain it runs to the end once and reports; a file it cannot delete stays
 * queued. Another drain working the same queue at once is harmless: a delete of a file already
 * gone counts as done (see deleteFile), and acknowledging twice is a no-op.
 */
import type { Logger } from '../common/index.js';
import { isFdfsError, Status, silentLogger } from '../common/index.js';
import type { Namespace } from '../namespace/index.js';

const BATCH = 256;
const PARALLEL = 8;

export interface GcReport {
  /** Files deleted (or found already gone) and acknowledged. */
  readonly deleted: number;
  /** Files whose delete failed; they stay queued for the next pass. */
  readonly failed: number;
}

export async function drainGarbageOnce(
  ns: Namespace,
  remove: (fileId: string) => Promise<void>,
  logger: Logger = silentLogger,
): Promise<GcReport> {
  let deleted = 0;
  let failed = 0;
  const skip = new Set<number>();
  for (;;) {
    // Failed entries stay at the head of the queue: ask for enough to get past them.
    const batch = (await ns.takeGarbage(BATCH + skip.size)).filter((g) => !skip.has(g.seq));
    if (batch.length === 0) return { deleted, failed };
    const done: number[] = [];
    for (let i = 0; i < batch.length; i += PARALLEL) {
      await Promise.all(
        batch.slice(i, i + PARALLEL).map(async (g) => {
          try {
            await remove(g.fileId).catch((err: unknown) => {
              if (!isFdfsError(err, Status.ENOENT)) throw err;
            });
            done.push(g.seq);
          } catch (err) {
            failed++;
            skip.add(g.seq);
            logger.warn('could not delete a released file; it stays queued', { fileId: g.fileId, err });
          }
        }),
      );
    }
    if (done.length > 0) await ns.ackGarbage(done);
    deleted += done.length;
  }
}
