/**
 * The gateway's LocalStore over the StorageEngine of the storage in this process: downloads read
 * the store paths directly and uploads go into the engine's durable writer (temp file, fsync,
 * link, binlog), so a file crosses the process once and is replicated like any other upload.
 */
import { type FileHandle, open, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { FdfsError, Status } from '../common/index.js';
import { decodeRemoteFilename } from '../fileid/index.js';
import type { LocalHandle, LocalStat, LocalStore, LocalUpload } from '../gateway/index.js';
import { unpackMetadata } from '../protocol/index.js';
import { type StorageCounters, type StorageEngine, TRUNK_HEADER_SIZE } from '../storage/index.js';

function missing(engine: StorageEngine, remote: string, err: unknown): never {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') {
    const fileId = engine.fileId(remote);
    throw new FdfsError(Status.ENOENT, `file ${fileId} not found`, { fileId, cause: err });
  }
  throw err;
}

/**
 * A file packed in a trunk file (use_trunk_file): its header is checked (existing), then its
 * bytes are read from the trunk file, `size` bytes from 24 past the slot's start.
 */
async function openTrunkFile(engine: StorageEngine, remote: string, trunkPath: string): Promise<LocalHandle> {
  const f = await engine.existing(remote);
  const base = (f.trunk?.slot.offset ?? 0) + TRUNK_HEADER_SIZE;
  const fh: FileHandle = await open(trunkPath, 'r').catch((err: unknown) => missing(engine, remote, err));
  return {
    size: f.size,
    mtimeMs: f.mtimeSec * 1000,
    async read(position: number, length: number): Promise<Buffer> {
      const len = Math.max(0, Math.min(length, f.size - position));
      const buf = Buffer.allocUnsafe(len);
      const { bytesRead } = await fh.read(buf, 0, len, base + position);
      return bytesRead === len ? buf : buf.subarray(0, bytesRead);
    },
    close: () => fh.close(),
    region: { fd: fh.fd, offset: base },
  };
}

/**
 * `counters`: the storage's heartbeat counters, so uploads, downloads and deletes through the
 * gateway show in `fdfs monitor` as the same operations over the native port do.
 */
export function localStoreOf(engine: StorageEngine, counters?: StorageCounters): LocalStore {
  // track() counts the attempt at once and the success when `work` resolves.
  async function track<T>(op: 'Upload' | 'Delete' | 'Download', work: Promise<T>): Promise<T> {
    if (counters)
      await counters.track(
        op,
        work.then(() => {}),
      );
    return work;
  }
  // resolve() validates the name (the strict Mxx/HH/LL/name gate) before building a path.
  const pathOf = (remote: string) => engine.deps.paths.resolve(remote);
  return {
    group: engine.group,

    watch: (listener) => engine.onChange(listener),

    async stat(remote: string): Promise<LocalStat> {
      if (engine.deps.trunk?.locate(remote)) {
        const f = await engine.existing(remote);
        return { size: f.size, mtimeMs: f.mtimeSec * 1000 };
      }
      const s = await stat(pathOf(remote)).catch((err: unknown) => missing(engine, remote, err));
      if (!s.isFile()) throw new FdfsError(Status.ENOENT, `${engine.fileId(remote)} is not a regular file`);
      return { size: s.size, mtimeMs: s.mtimeMs };
    },

    async open(remote: string): Promise<LocalHandle> {
      const trunk = engine.deps.trunk?.locate(remote);
      if (trunk && engine.deps.trunk)
        return openTrunkFile(engine, remote, engine.deps.trunk.trunkPath(trunk));
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
        region: { fd: fh.fd, offset: 0 },
      };
    },

    async upload(body: Readable, opts: LocalUpload): Promise<string> {
      const remote = await track(
        'Upload',
        engine.upload({
          body,
          ext: opts.ext,
          maxSize: opts.maxSize,
          storePathIndex: 0xff,
          ...(opts.size === undefined ? {} : { size: opts.size }),
          ...(opts.commitAfter === undefined ? {} : { commitAfter: opts.commitAfter }),
          ...(opts.bodyEnded === undefined ? {} : { bodyEnded: opts.bodyEnded }),
        }),
      );
      counters?.bytes('Upload', decodeRemoteFilename(remote).size);
      return remote;
    },

    delete: (remote: string) => track('Delete', engine.delete(remote)),

    countDownload(bytes: number, ok: boolean): void {
      if (!counters) return;
      counters.count('Download', ok);
      if (ok) counters.bytes('Download', bytes);
    },

    async getMetadata(remote: string): Promise<Record<string, string>> {
      try {
        return unpackMetadata(await engine.getMetadataRaw(remote));
      } catch (err) {
        if (err instanceof FdfsError && err.status === Status.ENOENT) return {};
        throw err;
      }
    },

    setMetadata: (remote: string, meta: Record<string, string>, mode: 'overwrite' | 'merge' = 'overwrite') =>
      engine.setMetadata(remote, meta, mode),

    async uploadSlave(master: string, prefix: string, ext: string, data: Buffer): Promise<string> {
      const remote = await track(
        'Upload',
        engine.uploadSlave(master, prefix, ext, Readable.from([data]), data.length),
      );
      counters?.bytes('Upload', data.length);
      return remote;
    },
  };
}
