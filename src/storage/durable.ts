/**
 * Durable writes: content goes to a temp file, is fsynced, then linked into place and the
 * directory fsynced, and only then acknowledged. A crash leaves at most a temp file, which
 * startup removes; it never leaves a half file under a real name. `durable=false` skips the
 * fsyncs (stock FastDFS behaviour) but keeps temp+link, so half files stay invisible.
 */
import { randomBytes } from 'node:crypto';
import { link, open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Crc32, FdfsError, Status } from '../common/index.js';
import { fileSink } from './file-sink.js';

export interface TempFile {
  readonly path: string;
  readonly size: number;
  readonly crc32: number;
}

/**
 * Streams `source` into a new temp file in `tmpDir`, counting bytes and computing the CRC32.
 * `expectedSize` undefined means the length is not known up front (an HTTP multipart part): the
 * write then fails with EFBIG as soon as more than `maxSize` bytes arrive, and the temp file goes.
 */
export async function writeTemp(
  tmpDir: string,
  source: Readable,
  expectedSize: number | undefined,
  durable: boolean,
  maxSize = Number.MAX_SAFE_INTEGER,
): Promise<TempFile> {
  const path = join(tmpDir, `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(path, 'wx', 0o644);
  const crc = new Crc32();
  let size = 0;
  try {
    await pipeline(
      source,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const c of chunks) {
          size += c.length;
          if (expectedSize === undefined && size > maxSize)
            throw new FdfsError(Status.EFBIG, `file is larger than the ${maxSize}-byte limit`);
          crc.update(c);
          yield c;
        }
      },
      fileSink(fh),
    );
    if (expectedSize !== undefined && size !== expectedSize)
      throw new FdfsError(Status.EINVAL, `received ${size} bytes, expected ${expectedSize}`);
    if (durable) await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(path).catch(() => {});
    throw err;
  }
  await fh.close();
  return { path, size, crc32: crc.value };
}

/** fsync a directory so a rename or link inside it survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Gives the temp file its final name without ever replacing an existing file (link fails with
 * EEXIST), then drops the temp name.
 */
export async function commitNew(tmp: string, finalPath: string, durable: boolean): Promise<void> {
  await link(tmp, finalPath);
  await unlink(tmp).catch(() => {});
  if (durable) await syncDir(dirname(finalPath));
}

/** Replaces `finalPath` atomically (state files, metadata sidecars). */
export async function commitReplace(tmp: string, finalPath: string, durable: boolean): Promise<void> {
  await rename(tmp, finalPath);
  if (durable) await syncDir(dirname(finalPath));
}

/** Writes a small file crash-safe: temp + fsync + rename + dir fsync. */
export async function writeFileAtomic(path: string, data: string | Buffer, durable = true): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(data);
    if (durable) await fh.sync();
  } finally {
    await fh.close();
  }
  await commitReplace(tmp, path, durable);
}
