/** Opening a stored file for a download: one open + fstat instead of stat-by-path then open. */
import { type FileHandle, open } from 'node:fs/promises';
import { FdfsError, Status } from '../common/index.js';
import { validateRemoteFilename } from '../fileid/index.js';
import type { StorageEngine } from './engine.js';

/** At or below this a download is read into one buffer and sent with its header in one write. */
export const SMALL_FILE_BYTES = 64 * 1024;

export interface OpenFile {
  readonly fh: FileHandle;
  readonly size: number;
  readonly mtimeSec: number;
}

export async function openForRead(engine: StorageEngine, remote: string): Promise<OpenFile> {
  validateRemoteFilename(remote);
  let fh: FileHandle;
  try {
    fh = await open(engine.deps.paths.resolve(remote), 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      const fileId = engine.fileId(remote);
      throw new FdfsError(Status.ENOENT, `file ${fileId} not found`, { fileId, cause: err });
    }
    throw err;
  }
  const s = await fh.stat().catch(async (err) => {
    await fh.close();
    throw err;
  });
  if (!s.isFile()) {
    await fh.close();
    throw new FdfsError(Status.EISDIR, `${engine.fileId(remote)} is not a regular file`);
  }
  return { fh, size: s.size, mtimeSec: Math.floor(s.mtimeMs / 1000) };
}

/** Reads `len` bytes at `offset` into one buffer (small files only). */
export async function readSmall(f: OpenFile, offset: number, len: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await f.fh.read(buf, got, len - got, offset + got);
    if (bytesRead === 0)
      throw new FdfsError(Status.EIO, `file shrank while being read (${got} of ${len} bytes)`);
    got += bytesRead;
  }
  return buf;
}
