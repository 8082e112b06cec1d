/**
 * `fdfs s3 gc` and the endpoint's periodic pass. One full garbage-queue drain: deletes every file the namespace released (a
 * replaced or deleted object, an aborted upload, a part sent again) and acknowledges it. Unlike
 * the endpoint's GarbageDrain it runs to the end once and reports; a file it cannot delete stays
 * queued. Another drain working the same queue at once is harmless: a delete of a file already
 * gone counts as done (see deleteFile), and acknowledging twice is a no-op.
 */
import type { Logger } from '../common/index.js';
import { isFdfsError, Status, silentLogger } from '../common/index.js';
import { decodeRemoteFilename } from '../fileid/index.js';
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

/** How long after its intent a file may appear in the binlog (the storage's fsync and link). */
const WINDOW_S = 300;

export interface OrphanScan {
  readonly ns: Namespace;
  /** The group of the storage whose binlog `lines` are. */
  readonly group: string;
  /** The storage's binlog lines (`ts op name`), oldest first. */
  readonly lines: AsyncIterable<string>;
  readonly remove: (fileId: string) => Promise<void>;
  /** ms since epoch. */
  readonly now: number;
  /** Intents younger than this are left alone: their upload may still be committing. */
  readonly graceMs: number;
  readonly logger?: Logger;
}

export interface OrphanReport {
  /** Intents of this group older than the grace period, resolved and cleared. */
  readonly intents: number;
  /** Unreferenced files of those intents, deleted. */
  readonly orphans: readonly string[];
  /** Intents of other groups (or of groups the tracker picked), left for a gc beside their storage. */
  readonly elsewhere: number;
}

/**
 * Files of uploads that crashed before their commit. Each intent names the size and CRC-32 of
 * the file it was about to store, and the storage names files by both: a file created in this
 * storage's binlog within WINDOW_S of an intent, with that size and CRC-32, that no key or part
 * references, is the crashed upload's orphan. Resolved intents are cleared; an intent whose file
 * never appeared (the storage failed, or never got the last byte) is cleared as well.
 */
export async function collectOrphans(o: OrphanScan): Promise<OrphanReport> {
  const logger = o.logger ?? silentLogger;
  const old = (await o.ns.listIntents(Number.MAX_SAFE_INTEGER)).filter((i) => i.at <= o.now - o.graceMs);
  const mine = old.filter((i) => i.group === o.group);
  const elsewhere = old.length - mine.length;
  if (mine.length === 0) return { intents: 0, orphans: [], elsewhere };
  const prints = new Set(mine.map((i) => `${i.size}:${i.crc32}`));
  const from = Math.min(...mine.map((i) => Math.floor(i.at / 1000))) - 2;
  /** Created files with an intent's size and CRC-32, in binlog order. */
  const records: { ts: number; print: string; fileId: string }[] = [];
  for await (const line of o.lines) {
    const [ts, op, name] = line.split(' ');
    // C: created here; c: created on a peer of the group and replicated here.
    if ((op !== 'C' && op !== 'c') || !name || Number(ts) < from) continue;
    let print: string;
    try {
      const d = decodeRemoteFilename(name);
      print = `${d.size}:${d.crc32}`;
    } catch {
      continue;
    }
    if (prints.has(print)) records.push({ ts: Number(ts), print, fileId: `${o.group}/${name}` });
  }
  // Each intent owns at most one file: the first unclaimed one with its print from its time on, so
  // a native upload of the same bytes minutes later is never taken for it.
  const claimed = new Set<number>();
  const candidates = new Set<string>();
  for (const i of [...mine].sort((a, b) => a.at - b.at)) {
    const t = Math.floor(i.at / 1000);
    const print = `${i.size}:${i.crc32}`;
    const n = records.findIndex(
      (r, k) => !claimed.has(k) && r.print === print && r.ts >= t - 2 && r.ts <= t + WINDOW_S,
    );
    if (n < 0) continue;
    claimed.add(n);
    candidates.add(records[n]?.fileId ?? '');
  }
  const orphans: string[] = [];
  let failed = 0;
  for (const fileId of candidates) {
    if (await o.ns.isReferenced(fileId)) continue;
    try {
      await o.remove(fileId);
      orphans.push(fileId);
      logger.info('orphan file of an uncommitted S3 upload deleted', { fileId });
    } catch (err) {
      // The binlog record goes before the link: a crash in between leaves a name with no file.
      if (isFdfsError(err, Status.ENOENT)) continue;
      failed++;
      logger.warn('could not delete an orphan file; its intent stays', { fileId, err });
    }
  }
  // With a failed delete every intent stays, so the next pass looks again.
  if (failed === 0) await o.ns.clearIntents(mine.map((i) => i.id));
  return { intents: failed === 0 ? mine.length : 0, orphans, elsewhere };
}

/** The endpoint's periodic orphan pass beside a storage: collectOrphans every `gcInterval`. */
export function startOrphanPass(
  o: Omit<OrphanScan, 'lines' | 'now'> & {
    readonly lines: () => AsyncIterable<string>;
    readonly now: () => number;
    readonly intervalMs: number;
  },
): { close(): Promise<void> } {
  const logger = o.logger ?? silentLogger;
  let running: Promise<void> | undefined;
  const pass = () => {
    running ??= collectOrphans({ ...o, lines: o.lines(), now: o.now() })
      .then((r) => {
        if (r.intents > 0 || r.orphans.length > 0)
          logger.info('s3 orphan pass', {
            intents: r.intents,
            orphans: r.orphans.length,
            elsewhere: r.elsewhere,
          });
      })
      .catch((err: unknown) => logger.warn('s3 orphan pass failed', { err }))
      .finally(() => {
        running = undefined;
      });
  };
  const timer = o.intervalMs > 0 ? setInterval(pass, o.intervalMs) : undefined;
  timer?.unref();
  return {
    async close() {
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
