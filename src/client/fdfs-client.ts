/** The public client: file ids in, file ids out; trackers, pools and replicas handled inside. */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { finished, Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FdfsError, type Logger, Status, silentLogger } from '../common/index.js';
import type { ClientConfig, HostPort } from '../config/types.js';
import { decodeRemoteFilename, formatFileId, parseFileId, slaveRemoteFilename } from '../fileid/index.js';
import type { GroupStat, StorageStat, SyncStatusRow } from '../protocol/index.js';
import { withContext } from './errors.js';
import type { FdfsClientDeps, FileInfo, RangeOptions, SlaveOptions, UploadOptions } from './options.js';
import { ConnectionPool } from './pool.js';
import { readFromReplicas } from './replicas.js';
import { extOfPath, normalizeExt, resolveSource, type UploadSource } from './source.js';
import { type MetadataMode, StorageClient, type StoredName } from './storage-client.js';
import { TrackerClient } from './tracker-client.js';

export class FdfsClient {
  readonly pool: ConnectionPool;
  readonly tracker: TrackerClient;
  private readonly log: Logger;

  constructor(config: ClientConfig, deps: FdfsClientDeps = {}) {
    this.log = deps.logger ?? silentLogger;
    this.pool = new ConnectionPool({
      connectTimeout: config.connectTimeout,
      networkTimeout: config.networkTimeout,
      maxIdleTime: config.connectionPoolMaxIdleTime,
      enabled: config.useConnectionPool,
      logger: this.log,
    });
    this.tracker = new TrackerClient({
      trackers: config.trackerServers,
      pool: this.pool,
      logger: this.log,
      ...(deps.statLayout ? { statLayout: deps.statLayout } : {}),
    });
  }

  /** Uploads a Buffer, a local file or a sized stream; returns the new file id. */
  async upload(source: UploadSource, opts: UploadOptions = {}): Promise<string> {
    const ext =
      opts.ext !== undefined ? normalizeExt(opts.ext) : typeof source === 'string' ? extOfPath(source) : '';
    const content = await resolveSource(source);
    const target = await this.tracker.queryStore(opts.group);
    const storage = { host: target.ip, port: target.port };
    const stored = await this.pool.use(
      storage,
      (c) =>
        new StorageClient(c).upload({
          storePathIndex: target.storePathIndex,
          ext,
          content,
          appender: opts.appender === true,
        }),
      { retryStale: content.replayable },
    );
    return this.finishUpload(storage, stored, opts.metadata);
  }

  /** Uploads a slave file (e.g. a thumbnail) next to `masterFileId`; returns its id. */
  async uploadSlave(masterFileId: string, source: UploadSource, opts: SlaveOptions): Promise<string> {
    const master = parseFileId(masterFileId);
    const ext =
      opts.ext !== undefined
        ? normalizeExt(opts.ext)
        : (typeof source === 'string' ? extOfPath(source) : '') ||
          decodeRemoteFilename(master.remoteFilename).ext;
    // Validates prefix and ext against the master the way the storage will, before any I/O.
    slaveRemoteFilename(master.remoteFilename, opts.prefix, ext);
    const content = await resolveSource(source);
    const target = await this.tracker.queryUpdate(masterFileId);
    const storage = { host: target.ip, port: target.port };
    const req = { master: master.remoteFilename, prefix: opts.prefix, ext, content };
    const stored = await this.pool.use(storage, (c) => new StorageClient(c).uploadSlave(master.group, req), {
      retryStale: content.replayable,
    });
    return this.finishUpload(storage, stored, opts.metadata);
  }

  /**
   * The file's bytes (or a range) as a stream; the storage connection goes back to the pool once
   * the stream has been read to the end.
   */
  async download(fileId: string, opts: RangeOptions = {}): Promise<Readable> {
    const { group, remoteFilename: remote } = parseFileId(fileId);
    const range = rangeOf(opts, fileId);
    const { conn, value: length } = await readFromReplicas(this.tracker, this.log, fileId, (t) =>
      this.pool.checkout(t, (c) => new StorageClient(c).startDownload(group, remote, range), {
        retryStale: true,
      }),
    );
    if (length === 0) {
      this.pool.release(conn);
      return Readable.from([]);
    }
    const body = new StorageClient(conn).downloadBody(group, remote, length);
    finished(body, () => this.pool.release(conn));
    return body;
  }

  /** Downloads into a Writable, or into a local file (removed again if the download fails). */
  async downloadTo(fileId: string, dest: Writable | string, opts: RangeOptions = {}): Promise<void> {
    const body = await this.download(fileId, opts);
    const out = typeof dest === 'string' ? createWriteStream(dest) : dest;
    try {
      await pipeline(body, out);
    } catch (err) {
      if (typeof dest === 'string') await rm(dest, { force: true });
      if (err instanceof FdfsError) throw err;
      const where = typeof dest === 'string' ? `to ${dest}` : 'to the destination stream';
      throw withContext(err, { action: `download ${fileId}`, where, fileId });
    }
  }

  /** The whole file (or range) in memory: for small files and tests. */
  async downloadBuffer(fileId: string, opts: RangeOptions = {}): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.download(fileId, opts)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async delete(fileId: string): Promise<void> {
    await this.onSource(fileId, (s, group, remote) => s.delete(group, remote));
  }

  async setMetadata(
    fileId: string,
    meta: Record<string, string>,
    mode: MetadataMode = 'overwrite',
  ): Promise<void> {
    await this.onSource(fileId, (s, group, remote) => s.setMetadata(group, remote, meta, mode));
  }

  /** The file's metadata; `{}` when it has none — and also when the file is missing (see StorageClient). */
  getMetadata(fileId: string): Promise<Record<string, string>> {
    return this.onSource(fileId, (s, group, remote) => s.getMetadata(group, remote));
  }

  /**
   * What the file id tells (§5.5); the storage is asked (22) when `fromServer` is true, or when it
   * is not set and the name cannot give the size (appender, slave).
   */
  async fileInfo(fileId: string, opts: { fromServer?: boolean } = {}): Promise<FileInfo> {
    const { group, remoteFilename: remote } = parseFileId(fileId);
    const d = decodeRemoteFilename(remote);
    const local: FileInfo = {
      source: d.source,
      timestamp: d.timestamp,
      size: d.size,
      crc32: d.crc32,
      type: d.type,
    };
    if (!(opts.fromServer ?? d.size < 0)) return local;
    const info = await readFromReplicas(this.tracker, this.log, fileId, (t) =>
      this.pool.use(t, (c) => new StorageClient(c).queryFileInfo(group, remote), { retryStale: true }),
    );
    return {
      ...local,
      source: info.sourceIp ? { kind: 'ip', ip: info.sourceIp } : d.source,
      timestamp: info.timestamp,
      size: info.size,
      crc32: info.crc32,
    };
  }

  /** Appends to an appender file. */
  async append(fileId: string, source: UploadSource): Promise<void> {
    const content = await resolveSource(source);
    await this.onSource(fileId, (s, group, remote) => s.append(group, remote, content), content.replayable);
  }

  /** Overwrites an appender file from `offset` (≤ its size); may extend it. */
  async modify(fileId: string, offset: number, source: UploadSource): Promise<void> {
    checkSize(offset, 'offset', fileId);
    const content = await resolveSource(source);
    await this.onSource(
      fileId,
      (s, group, remote) => s.modify(group, remote, offset, content),
      content.replayable,
    );
  }

  /** Cuts (or extends) an appender file to `size` bytes. */
  async truncate(fileId: string, size = 0): Promise<void> {
    checkSize(size, 'size', fileId);
    await this.onSource(fileId, (s, group, remote) => s.truncate(group, remote, size));
  }

  /** Turns an appender file into a normal one; returns the new file id (the old one is gone). */
  async regenerateAppenderFilename(fileId: string): Promise<string> {
    const stored = await this.onSource(fileId, (s, group, remote) =>
      s.regenerateAppenderFilename(group, remote),
    );
    return this.fileIdOf(stored, `regenerate name of ${fileId}`);
  }

  listGroups(): Promise<GroupStat[]> {
    return this.tracker.listGroups();
  }

  listStorages(group: string): Promise<StorageStat[]> {
    return this.tracker.listStorages(group);
  }

  /** Per (dest, source) pair of the group: synced-until; undefined from a FastDFS tracker. */
  syncStatus(group: string): Promise<SyncStatusRow[] | undefined> {
    return this.tracker.syncStatus(group);
  }

  /** Ends every pooled connection; the client cannot be used afterwards. */
  async close(): Promise<void> {
    this.pool.close();
  }

  /** A change goes to the storage the tracker names for updates (103), normally the source. */
  private async onSource<T>(
    fileId: string,
    fn: (s: StorageClient, group: string, remote: string) => Promise<T>,
    replayable = true,
  ): Promise<T> {
    const { group, remoteFilename } = parseFileId(fileId);
    const target = await this.tracker.queryUpdate(fileId);
    return this.pool.use(
      { host: target.ip, port: target.port },
      (c) => fn(new StorageClient(c), group, remoteFilename),
      {
        retryStale: replayable,
      },
    );
  }

  /** Builds the id and sets metadata; on a set-meta failure deletes the file, as the C client does. */
  private async finishUpload(
    storage: HostPort,
    stored: StoredName,
    meta?: Record<string, string>,
  ): Promise<string> {
    const fileId = this.fileIdOf(stored, `upload to ${storage.host}:${storage.port}`);
    if (!meta || Object.keys(meta).length === 0) return fileId;
    const { group, remote } = stored;
    try {
      await this.pool.use(
        storage,
        (c) => new StorageClient(c).setMetadata(group, remote, meta, 'overwrite'),
        {
          retryStale: true,
        },
      );
    } catch (err) {
      try {
        await this.pool.use(storage, (c) => new StorageClient(c).delete(group, remote), { retryStale: true });
      } catch (delErr) {
        this.log.warn('could not delete a file whose metadata failed', { fileId, err: delErr });
      }
      throw err;
    }
    return fileId;
  }

  private fileIdOf(stored: StoredName, action: string): string {
    try {
      return formatFileId(stored.group, stored.remote);
    } catch (err) {
      throw withContext(err, { action: `${action}: storage answered an invalid file id` });
    }
  }
}

function checkSize(n: number, what: string, fileId: string): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new FdfsError(Status.EINVAL, `${fileId}: ${what} must be a non-negative integer, got ${n}`, {
      fileId,
    });
  }
}

function rangeOf(opts: RangeOptions, fileId: string): { offset: number; length: number } {
  const offset = opts.offset ?? 0;
  const length = opts.length ?? 0;
  checkSize(offset, 'offset', fileId);
  checkSize(length, 'length', fileId);
  return { offset, length };
}
