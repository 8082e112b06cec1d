/**
 * Durable writes: content goes to a temp file, is fsynced, then linked into place and the
 * directory fsynced, and only then acknowledged. A crash leaves at most a temp file, which
 * startup removes; it never leaves a half file under a real name. `durable=false` skips the
 * fsyncs (stock FastDFS behaviour) but keeps temp+link, so half files stay invisible.
 */
import { randomBytes } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  Crc32,
  FdfsError,
  replaceFile,
  Status,
  syncDir,
  syncDirGrouped,
  writeFileAtomic,
} from '../common/index.js';
import { createFile, moveNew, syncDir as nativeSyncDir } from '../native/index.js';
import { closeFd, datasyncFd, linkPath, openFd, pwritevFd, unlinkPath } from './fd-io.js';
import { fileSink } from './file-sink.js';

export interface TempFile {
  readonly path: string;
  readonly size: number;
  readonly crc32: number;
}

/**
 * Bytes gathered while one write runs before the reader waits for it. Held per upload, so it counts
 * 64 times over under 64 concurrent uploads (see QUEUE_LIMIT in the frame reader); 128 KB still
 * makes writes of at least 128 KB when the disk lags.
 */
const GATHER_BYTES = 128 * 1024;

/** Random per process, so processes sharing a .tmp (storage worker processes) never collide. */
const TEMP_PREFIX = randomBytes(6).toString('hex');
let tempCount = 0;

/**
 * A new temp file name in `tmpDir`. A counter after a per-process random part: randomBytes per
 * name cost a getpid system call each (OpenSSL's fork check) on every upload.
 */
export function tempName(tmpDir: string): string {
  tempCount = (tempCount + 1) % Number.MAX_SAFE_INTEGER;
  return join(tmpDir, `${Date.now().toString(36)}-${TEMP_PREFIX}-${tempCount.toString(36)}.tmp`);
}

/**
 * Streams `source` into a new temp file in `tmpDir`, counting bytes and computing the CRC32.
 * `expectedSize` undefined means the length is not known up front (an HTTP multipart part): the
 * write then fails with EFBIG as soon as more than `maxSize` bytes arrive, and the temp file goes.
 *
 * Each chunk is written as soon as no write is running; while one runs, the chunks that arrive
 * are gathered and go out together in one pwritev (at most GATHER_BYTES gathered, then the
 * reader waits). A profile of 4 KB uploads showed the stream pipeline (Readable.from, a transform
 * generator, a Writable over a FileHandle) and the FileHandle calls costing more than the disk
 * work; a 4 KB body is now open + one pwritev + close.
 */
export async function writeTemp(
  tmpDir: string,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  expectedSize: number | undefined,
  durable: boolean,
  maxSize = Number.MAX_SAFE_INTEGER,
  ended?: (size: number, crc32: number) => void,
): Promise<TempFile> {
  const path = tempName(tmpDir);
  const fd = await openFd(path, 'wx', 0o644);
  const crc = new Crc32();
  let size = 0;
  let written = 0;
  let batch: Uint8Array[] = [];
  let batched = 0;
  let running: Promise<void> | undefined;
  let writeFailed: { err: unknown } | undefined;
  const start = () => {
    const bufs = batch;
    const at = written;
    written += batched;
    batch = [];
    batched = 0;
    // Observed at once: a failure is seen by the next wait, never an unhandled rejection.
    running = pwritevFd(fd, bufs, at).then(
      () => {
        running = undefined;
      },
      (err: unknown) => {
        writeFailed = { err };
        running = undefined;
      },
    );
  };
  const settle = async () => {
    while (running) await running;
    if (writeFailed) throw writeFailed.err;
  };
  try {
    for await (const c of source) {
      size += c.length;
      if (expectedSize === undefined && size > maxSize)
        throw new FdfsError(Status.EFBIG, `file is larger than the ${maxSize}-byte limit`);
      crc.update(c);
      batch.push(c);
      batched += c.length;
      if (running && batched >= GATHER_BYTES) await settle();
      if (writeFailed) throw writeFailed.err;
      if (!running) start();
    }
    await settle();
    if (batched > 0) start();
    await settle();
    if (expectedSize !== undefined && size !== expectedSize)
      throw new FdfsError(Status.EINVAL, `received ${size} bytes, expected ${expectedSize}`);
    // Every byte is written: what waits on the size and CRC may start while the bytes are synced.
    ended?.(size, crc.value);
    // fdatasync also flushes the size; the rest of the inode's metadata need not hit the disk.
    if (durable) await datasyncFd(fd);
  } catch (err) {
    while (running) await running;
    await closeFd(fd).catch(() => {});
    await unlinkPath(path).catch(() => {});
    throw err;
  }
  await closeFd(fd);
  return { path, size, crc32: crc.value };
}

/**
 * A body already in memory (a small native upload) made durable at `finalPath`, its name already
 * drawn: temp file `tmp` written and synced, then given the name without replacing anything, then
 * the directory synced. With the native addon the first two are one thread-pool job (open, pwrite,
 * fdatasync, close and rename through node:fs are five round trips, and a profile of durable 4 KB
 * uploads put more CPU in those hand-offs than in the system calls). When the name is taken the
 * error carries `tempKept: true` and the complete temp file stays for another name.
 */
export async function createNamed(
  tmp: string,
  data: Buffer,
  finalPath: string,
  durable: boolean,
): Promise<void> {
  if (createFile) await createFile(tmp, data, durable, finalPath);
  else {
    const fd = await openFd(tmp, 'wx', 0o644);
    try {
      await pwritevFd(fd, [data], 0);
      if (durable) await datasyncFd(fd);
    } catch (err) {
      await closeFd(fd).catch(() => {});
      await unlinkPath(tmp).catch(() => {});
      throw err;
    }
    await closeFd(fd);
    try {
      await nameNew(tmp, finalPath);
    } catch (err) {
      throw Object.assign(err as Error, { tempKept: true });
    }
  }
  if (durable) await syncDirGrouped(dirname(finalPath), nativeSyncDir);
}

/**
 * Gives the temp file its final name without ever replacing an existing file (EEXIST): with the
 * native addon a rename that refuses to replace, in one job; else link, then the temp name dropped
 * (not waited for: a crash leaves it in .tmp, which start clears, and the name under data/ is
 * already complete).
 */
async function nameNew(tmp: string, finalPath: string): Promise<void> {
  if (moveNew) await moveNew(tmp, finalPath);
  else {
    await linkPath(tmp, finalPath);
    unlinkPath(tmp).catch(() => {});
  }
}

/** nameNew, then (durable) the directory synced so the new name survives a crash. */
export async function commitNew(tmp: string, finalPath: string, durable: boolean): Promise<void> {
  await nameNew(tmp, finalPath);
  if (durable) await syncDirGrouped(dirname(finalPath), nativeSyncDir);
}

/** Writes `body` at `offset` (or at the end when undefined), fsyncs, and returns where it went. */
export async function writeAt(
  path: string,
  body: Readable,
  size: number,
  offset: number | undefined,
  durable: boolean,
): Promise<number> {
  const fh = await open(path, 'r+');
  try {
    const start = offset ?? (await fh.stat()).size;
    let written = 0;
    await pipeline(
      body,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const c of chunks) {
          written += c.length;
          yield c;
        }
      },
      fileSink(fh, start),
    );
    if (written !== size) throw new FdfsError(Status.EINVAL, `received ${written} bytes, expected ${size}`);
    if (durable) await fh.sync();
    return start;
  } finally {
    await fh.close();
  }
}

/**
 * writeFileAtomic with the temp file in `tmpDir` (a store path's `.tmp/`, same filesystem), for
 * files inside the data directories, where a temp left by a crash would otherwise stay forever.
 */
export async function writeFileAtomicIn(
  tmpDir: string,
  finalPath: string,
  data: Uint8Array,
  durable: boolean,
): Promise<void> {
  const tmp = tempName(tmpDir);
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(data);
    if (durable) await fh.datasync();
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  try {
    await replaceFile(tmp, finalPath, durable);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

/** Replaces `finalPath` atomically (state files, metadata sidecars). */
export const commitReplace = replaceFile;
export { syncDir, syncDirGrouped, writeFileAtomic };
