/**
 * The storage's file operations, independent of the wire: the service maps commands onto these,
 * and a gateway running beside the storage can call them directly.
 */
import { stat, unlink } from 'node:fs/promises';
import { crc32, FdfsError, type Logger, Status } from '../common/index.js';
import type { StorageConfig } from '../config/types.js';
import {
  decodeRemoteFilename,
  encodeRemoteFilename,
  formatFileId,
  type NameKind,
  type SourceId,
  slaveRemoteFilename,
  validateExt,
  validateRemoteFilename,
} from '../fileid/index.js';
import type { Metadata } from '../protocol/index.js';
import { type Binlog, BinlogOp } from './binlog.js';
import { drainBody, onceBody, readHead } from './body.js';
import { deleteWithSlaves } from './delete.js';
import type { DiskWriter } from './disk-thread.js';
import type { DistPath } from './dist-path.js';
import { commitNew, createNamed, type TempFile, tempName, writeTemp } from './durable.js';
import { KeyedLock } from './keyed-lock.js';
import { checkMetadata, META_SUFFIX, readMetadataRaw, writeMetadata } from './metadata-file.js';
import { ReadCache } from './read-cache.js';
import { hex, type StorePaths, subdirsOf } from './store-paths.js';
import { statTrunk, TRUNK_WHOLE_MAX, type TrunkLocation, type Trunks, uploadToTrunk } from './trunk/index.js';

export interface UploadInput {
  /** A Readable, or the frame reader's chunks of a native request. */
  readonly body: AsyncIterable<Buffer>;
  /** Absent when the length is not known up front (the gateway's multipart parts). */
  readonly size?: number;
  /** With no `size`: refuse (EFBIG) a body longer than this. */
  readonly maxSize?: number;
  readonly ext: string;
  readonly storePathIndex: number; // 0xFF = storage chooses
  readonly kind?: NameKind;
  /**
   * Awaited after the temp file is written and synced, before its binlog record and link (the
   * gateway's S3 upload intent, written meanwhile); a rejection removes the temp file.
   */
  readonly commitAfter?: () => Promise<unknown>;
  /** Called once the whole body is written, before it is synced, with its size and CRC-32. */
  readonly bodyEnded?: (size: number, crc32: number) => void;
}

export interface EngineDeps {
  readonly config: StorageConfig;
  readonly paths: StorePaths;
  readonly binlog: Binlog;
  readonly dist: DistPath;
  readonly logger: Logger;
  /** The address written into new file ids (the storage's ip as its trackers see it). */
  readonly sourceIp: () => string;
  /**
   * With id_type_in_filename = id (and a numeric storage id), the id new names carry instead of
   * the address, so a storage whose address changes still owns its files. Absent / undefined: ip.
   */
  readonly sourceId?: () => SourceId | undefined;
  /** Trunk files (FastDFS' use_trunk_file): packed small files are read, deleted and written through it. */
  readonly trunk?: Trunks;
  /** With durable_writes = false: writes small uploads and their records (disk-thread.ts). */
  readonly disk?: DiskWriter;
}

export class StorageEngine {
  readonly group: string;
  /** Small files for downloads; every operation under `locks` drops its name from it. */
  readonly cache: ReadCache;
  readonly locks: KeyedLock;
  /**
   * Set when storage worker processes serve downloads from their own caches: tells them a name
   * changed, resolving once all have dropped it (before the change is acknowledged).
   */
  forgetElsewhere: ((name: string) => Promise<void>) | undefined;
  private readonly durable: boolean;
  private readonly changeListeners = new Set<(name: string) => void>();

  constructor(readonly deps: EngineDeps) {
    this.group = deps.config.groupName;
    this.durable = deps.config.durableWrites;
    const c = deps.config;
    this.cache = new ReadCache({
      maxFileSize: c.cacheMaxFileSize,
      maxMemory: c.cacheMaxMemory,
      revalidateMs: c.cacheRevalidate,
    });
    this.locks = new KeyedLock((name, phase) => {
      this.cache.forget(name);
      for (const listener of this.changeListeners) listener(name);
      if (phase === 'done' && this.forgetElsewhere) return this.forgetElsewhere(name);
    });
  }

  /**
   * Calls `listener` with every name an operation under `locks` touches (as it starts and as it
   * ends), so caches of stored bytes outside the engine (the gateway's) stay exact. Returns the
   * unsubscribe.
   */
  onChange(listener: (name: string) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  fileId(remote: string): string {
    return formatFileId(this.group, remote);
  }

  resolvePath(remote: string): string {
    return this.deps.paths.resolve(remote);
  }

  busy(remote: string): boolean {
    return this.locks.busy(remote);
  }

  /** Rejects a request addressed to another group (EINVAL, as FastDFS). */
  checkGroup(group: string, remote: string): void {
    if (group !== this.group) {
      throw new FdfsError(Status.EINVAL, `group "${group}" is not this storage's group "${this.group}"`, {
        fileId: `${group}/${remote}`,
      });
    }
  }

  /**
   * Absolute path of an existing regular file, or ENOENT. For a file packed in a trunk file the
   * path is where its own file would be (its `-m` sidecar sits beside it) and `trunk` its slot.
   */
  async existing(
    remote: string,
  ): Promise<{ path: string; size: number; mtimeSec: number; trunk?: TrunkLocation }> {
    validateRemoteFilename(remote);
    const path = this.deps.paths.resolve(remote);
    const trunk = this.deps.trunk?.locate(remote);
    if (trunk) return { path, ...(await statTrunk(this, remote, trunk)), trunk };
    try {
      const s = await stat(path);
      if (!s.isFile()) throw new FdfsError(Status.EISDIR, `${this.fileId(remote)} is not a regular file`);
      return { path, size: s.size, mtimeSec: Math.floor(s.mtimeMs / 1000) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new FdfsError(Status.ENOENT, `file ${this.fileId(remote)} not found`, {
          fileId: this.fileId(remote),
          cause: err,
        });
      }
      throw err;
    }
  }

  /** Upload (11) and appender upload (23): temp file, fsync, name from size+crc, link, binlog, reply. */
  async upload(input: UploadInput): Promise<string> {
    validateExt(input.ext);
    const { paths, trunk } = this.deps;
    const normal = (input.kind ?? 'normal') === 'normal';
    // A body of unknown length (a multipart part) is read up to what a slot takes whole: ended
    // by then, it is packed like one whose length came first; else it goes on as a normal file.
    const limit =
      normal && input.size === undefined && trunk ? Math.min(trunk.packLimit, TRUNK_WHOLE_MAX) : 0;
    if (limit > 0) {
      const head = await readHead(input.body, limit);
      if ('body' in head) input = { ...input, body: head.body };
      else {
        if (input.maxSize !== undefined && head.data.length > input.maxSize) {
          throw new FdfsError(Status.EFBIG, `file is larger than the ${input.maxSize}-byte limit`);
        }
        input = { ...input, body: onceBody(head.data), size: head.data.length };
      }
    }
    // Small files go into trunk slots when the group uses trunk files (never appenders, as FastDFS).
    if (normal && trunk?.canPack(input.size) && input.size !== undefined) {
      const packed = await uploadToTrunk(this, trunk, {
        body: input.body,
        size: input.size,
        ext: input.ext,
        storePathIndex: input.storePathIndex,
        source: this.source(),
        ...(input.bodyEnded === undefined ? {} : { bodyEnded: input.bodyEnded }),
        ...(input.commitAfter === undefined ? {} : { commitAfter: input.commitAfter }),
      });
      if (typeof packed === 'string') return packed;
      if (packed) input = { ...input, body: onceBody(packed.unpacked) };
    }
    const pathIndex = paths.choose(input.storePathIndex, input.size ?? 0);
    const tmp = await writeTemp(
      paths.tmpDir(pathIndex),
      input.body,
      input.size,
      this.durable,
      input.maxSize,
      input.bodyEnded,
    );
    if (input.commitAfter) {
      try {
        await input.commitAfter();
      } catch (err) {
        await unlink(tmp.path).catch(() => {});
        throw err;
      }
    }
    return this.commitTemp(tmp, pathIndex, input.ext, input.kind ?? 'normal');
  }

  /**
   * Upload of a body already read whole (a small native upload): its size and CRC are known, so
   * its name is drawn first. The record goes first (synced when durable), as in logThenLink, then
   * createNamed writes (and syncs) the file and names it; a crash in between leaves a record whose
   * file never appeared. Without durable writes the disk writer (the addon's jobs or the disk
   * thread) does both in one job under the name's lock.
   */
  async uploadData(
    data: Buffer,
    ext: string,
    storePathIndex: number,
    kind: NameKind = 'normal',
  ): Promise<string> {
    const { paths, disk, trunk, binlog } = this.deps;
    // Those a trunk slot takes go the usual way.
    if (kind === 'normal' && trunk?.canPack(data.length)) {
      return this.upload({ body: onceBody(data), size: data.length, ext, storePathIndex, kind });
    }
    validateExt(ext);
    const pathIndex = paths.choose(storePathIndex, data.length);
    const size = data.length;
    const crc = crc32(data);
    const remote = this.newName(pathIndex, size, crc, ext, kind);
    const tmp = tempName(paths.tmpDir(pathIndex));
    const finalPath = paths.resolve(remote);
    await paths.ensureDir(paths.dirOf(pathIndex, ...subdirsOf(remote)));
    try {
      await this.locks.run(
        remote,
        async () => {
          if (disk && !this.durable) {
            // The record goes in the same job as the file when it can (one trip to the thread).
            const log = binlog.claim(BinlogOp.CREATE, remote);
            if (!log) await binlog.append(BinlogOp.CREATE, remote);
            await disk.createFile(tmp, finalPath, data, log);
          } else {
            await binlog.append(BinlogOp.CREATE, remote);
            await createNamed(tmp, data, finalPath, this.durable);
          }
        },
        { fresh: true },
      );
      return remote;
    } catch (err) {
      // The name was taken (same second, size, CRC and random bits): the written temp file
      // takes another name, as commitTemp does for every upload.
      if ((err as { tempKept?: boolean }).tempKept)
        return this.commitTemp({ path: tmp, size, crc32: crc }, pathIndex, ext, kind);
      throw err;
    }
  }

  /**
   * Names a finished temp file (written and synced in `pathIndex`'s .tmp) and links it into
   * place after its binlog record. The one place new names are made, so binlog order and name
   * uniqueness stay this engine's (storage worker processes send their temp files here).
   */
  async commitTemp(tmp: TempFile, pathIndex: number, ext: string, kind: NameKind): Promise<string> {
    const { paths } = this.deps;
    try {
      validateExt(ext);
      for (let attempt = 0; ; attempt++) {
        const remote = this.newName(pathIndex, tmp.size, tmp.crc32, ext, kind);
        const fullPath = paths.resolve(remote);
        await paths.ensureDir(paths.dirOf(pathIndex, ...subdirsOf(remote)));
        try {
          await this.logThenLink(remote, tmp.path, fullPath);
        } catch (err) {
          // Same second, size, crc and random bits: draw again, as FastDFS retries on EEXIST.
          if ((err as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 10) continue;
          throw err;
        }
        return remote;
      }
    } catch (err) {
      // commitNew drops the temp name on success; only a failure leaves it to clean up here.
      await unlink(tmp.path).catch(() => {});
      throw err;
    }
  }

  /**
   * The binlog record goes first, then the link: a crash in between leaves a record whose file
   * never appeared (pushers skip it, as FastDFS skips a record whose file is gone), never a file
   * no peer will hear of. The name's lock makes a pusher that reads the record wait for the link.
   */
  private logThenLink(remote: string, tmp: string, finalPath: string): Promise<void> {
    return this.locks.run(
      remote,
      async () => {
        await this.deps.binlog.append(BinlogOp.CREATE, remote);
        await commitNew(tmp, finalPath, this.durable);
      },
      { fresh: true },
    );
  }

  /** What new names carry as their source: the numeric id, or the address. */
  source(): SourceId {
    return this.deps.sourceId?.() ?? { kind: 'ip', ip: this.deps.sourceIp() };
  }

  private newName(pathIndex: number, size: number, crc32: number, ext: string, kind: NameKind): string {
    const base = encodeRemoteFilename({
      storePathIndex: pathIndex,
      subdirHigh: 0,
      subdirLow: 0,
      source: this.source(),
      timestamp: Math.floor(Date.now() / 1000),
      size,
      crc32,
      ext,
      kind,
    });
    const fileName = base.slice(10);
    const { high, low } = this.deps.dist.next(fileName.slice(0, 27));
    return `M${hex(pathIndex)}/${hex(high)}/${hex(low)}/${fileName}`;
  }

  /** Slave upload (21): stored beside its master under a derived name; EEXIST if taken. */
  async uploadSlave(
    master: string,
    prefix: string,
    ext: string,
    body: AsyncIterable<Buffer>,
    size: number,
  ): Promise<string> {
    const remote = slaveRemoteFilename(master, prefix, ext);
    await this.existing(master).catch(async (err) => {
      await drainBody(body);
      throw err;
    });
    const pathIndex = decodeRemoteFilename(master).storePathIndex;
    const tmp = await writeTemp(this.deps.paths.tmpDir(pathIndex), body, size, this.durable);
    try {
      await this.logThenLink(remote, tmp.path, this.deps.paths.resolve(remote));
    } catch (err) {
      await unlink(tmp.path).catch(() => {});
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new FdfsError(Status.EEXIST, `slave file ${this.fileId(remote)} already exists`, {
          fileId: this.fileId(remote),
        });
      }
      throw err;
    }
    return remote;
  }

  /** Delete (12): the file, and first the slaves its metadata records (delete.ts). */
  delete(remote: string): Promise<void> {
    return deleteWithSlaves(this, remote);
  }

  async setMetadata(remote: string, meta: Metadata, mode: 'overwrite' | 'merge'): Promise<void> {
    checkMetadata(meta, this.fileId(remote));
    await this.locks.run(`${remote}${META_SUFFIX}`, async () => {
      const { path } = await this.existing(remote);
      const tmpDir = this.deps.paths.tmpDir(decodeRemoteFilename(remote).storePathIndex);
      // The record is logged before the sidecar changes (see logThenLink); the lock above makes a
      // pusher that reads it wait for the new content.
      await writeMetadata(path, meta, mode, this.durable, tmpDir, (op) =>
        this.deps.binlog.append(op, remote + META_SUFFIX),
      );
    });
  }

  /** The packed sidecar; ENOENT when the file or its sidecar is missing (as FastDFS). */
  async getMetadataRaw(remote: string): Promise<Buffer> {
    const { path } = await this.existing(remote);
    const raw = await readMetadataRaw(path);
    if (!raw)
      throw new FdfsError(Status.ENOENT, `file ${this.fileId(remote)} has no metadata`, {
        fileId: this.fileId(remote),
      });
    return raw;
  }
}
