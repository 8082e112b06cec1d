/**
 * Crash-safe small files (state, marks, counters, sidecars): temp file, fsync, rename, then fsync
 * the directory so the rename itself survives a crash. A reader sees the old or the new content,
 * never a torn mix. Shared by the tracker and the storage, which must not import each other.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * fsync a directory so a rename or link inside it survives a crash. On plain fds with the callback
 * calls: every durable upload and replica makes one, and the FileHandle API costs about twice
 * the CPU per call (its object, close tracking and promises).
 */
export function syncDir(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.open(dir, 'r', (err, fd) => {
      if (err) return reject(err);
      fs.fsync(fd, (syncErr) => {
        fs.close(fd, (closeErr) => {
          const failure = syncErr ?? closeErr;
          if (failure) reject(failure);
          else resolve();
        });
      });
    });
  });
}

/**
 * Group commit for directory fsyncs: callers that ask while a sync of the same directory is
 * running share the next one (which starts after their link or rename), so N concurrent uploads
 * into one `HH/LL` directory cost about two directory fsyncs instead of N. `sync` does one
 * (the storage passes the native addon's, one thread-pool job instead of three).
 */
const dirSyncs = new Map<string, { running: Promise<void>; next?: Promise<void> }>();

export function syncDirGrouped(dir: string, sync: (dir: string) => Promise<void> = syncDir): Promise<void> {
  const state = dirSyncs.get(dir);
  if (!state) {
    const running = sync(dir).finally(() => settle(dir));
    dirSyncs.set(dir, { running });
    return running;
  }
  state.next ??= state.running.catch(() => {}).then(() => sync(dir));
  return state.next;
}

function settle(dir: string): void {
  const state = dirSyncs.get(dir);
  if (!state?.next) {
    dirSyncs.delete(dir);
    return;
  }
  const running = state.next.finally(() => settle(dir));
  // The waiters hold `next` and see its failure; this copy only drives the chain. Unobserved, its
  // rejection would be unhandled, and Node ends the process on that.
  running.catch(() => {});
  dirSyncs.set(dir, { running });
}

/** Moves `tmp` over `finalPath` atomically; with `durable`, the directory entry is fsynced too. */
export async function replaceFile(tmp: string, finalPath: string, durable: boolean): Promise<void> {
  await rename(tmp, finalPath);
  if (durable) await syncDir(dirname(finalPath));
}

/** Writes `data` to `path` crash-safe; `durable=false` keeps the atomic rename but skips fsyncs. */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  durable = true,
): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(data);
    if (durable) await fh.sync();
  } finally {
    await fh.close();
  }
  await replaceFile(tmp, path, durable);
}

/** writeFileAtomic's temp names: `<file>.<8 hex>.tmp`. */
const TEMP_NAME = /\.[0-9a-f]{8}\.tmp$/;

/**
 * Removes the temps of writeFileAtomic in `dir` that a crash (kill -9 between open and rename)
 * left behind; the real file was never replaced by them, so they hold nothing needed. Call at
 * start, before anything writes there. Returns the names removed.
 */
export async function removeAtomicTemps(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!TEMP_NAME.test(name)) continue;
    await unlink(join(dir, name)).catch(() => {});
    removed.push(name);
  }
  return removed;
}
