/**
 * The gateway's LocalStore over the StorageEngine of the storage in this process: downloads read
 * the store paths directly and uploads go into the engine's durable writer (temp file, fsync,
 * link, binlog), so a file crosses the process once and is replicated like any other upload.
 */
import { type FileHandle, open, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { FdfsError, Status } from '../common/index.js';
import type { LocalHandle, LocalStat, LocalStore, LocalUpload } from '../gateway/index.js';
import { unpackMetadata } from '../protocol/index.js';
import type { StorageEngine } from '../storage/index.js';

function missing(engine: StorageEngine, remote: string, err: unknown): never {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') {
    const fileId = engine.fileId(remote);
    throw new FdfsError(Status.ENOENT, `file ${fileId} not found`, { fileId, cause: err });
  }
  throw err;
}

export function localStoreOf(engine: StorageEngine): LocalStore {
  // resolve() validates the name (the strict Mxx/HH/LL/name gate) before building a path.
  const pathOf = (remote: string) => engine.deps.paths.resolve(remote);
  return {
    group: engine.group,

    async stat(remote: string): Promise<LocalStat> {
      const s = await stat(pathOf(remote)).catch((err: unknown) => missing(engine, remote, err));
      if (!s.isFile()) throw new FdfsError(Status.ENOENT, `${engine.fileId(remote)} is not a regular file`);
      return { size: s.size, mtimeMs: s.mtimeMs };
    },

    async open(remote: string): Promise<LocalHandle> {
      // open + fstat: the size and the bytes belong to the same file even if it is replaced meanwhile.
      const fh: FileHandle = await open(pathOf(remote), 'r').catch((err: unknown) =>
        missing(engine, remote, err),
      );
      const s = await fh.stat().catch(async (err: unknown) => {
        await fh.close();
        throw err;
      });
      if (!s.isFile()) {
        await fh.close();
        throw new FdfsError(Status.ENOENT, `${engine.fileId(remote)} is not a regular file`);
      }
      return {
        size: s.size,
        mtimeMs: s.mtimeMs,
        async read(position: number, length: number): Promise<Buffer> {
          const buf = Buffer.allocUnsafe(length);
          const { bytesRead } = await fh.read(buf, 0, length, position);
          return bytesRead === length ? buf : buf.subarray(0, bytesRead);
        },
        close: () => fh.close(),
      };
    },

    upload(body: Readable, opts: LocalUpload): Promise<string> {
      return engine.upload({
        body,
        ext: opts.ext,
        maxSize: opts.maxSize,
        storePathIndex: 0xff,
        ...(opts.size === undefined ? {} : { size: opts.size }),
      });
    },

    delete: (remote: string) => engine.delete(remote),

    async getMetadata(remote: string): Promise<Record<string, string>> {
      try {
        return unpackMetadata(await engine.getMetadataRaw(remote));
      } catch (err) {
        if (err instanceof FdfsError && err.status === Status.ENOENT) return {};
        throw err;
      }
    },

    setMetadata: (remote: string, meta: Record<string, string>) =>
      engine.setMetadata(remote, meta, 'overwrite'),
  };
}
