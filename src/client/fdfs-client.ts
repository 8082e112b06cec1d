/** The public client: file ids in, file ids out; trackers, pools and replicas handled inside. */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FdfsError, type Logger, silentLogger } from '../common/index.js';
import { loadClientConfig, type Overrides } from '../config/index.js';
import type { HostPort } from '../config/types.js';
import { decodeRemoteFilename, formatFileId, parseFileId, slaveRemoteFilename } from '../fileid/index.js';
import type { GroupStat, StorageStat, SyncStatusRow } from '../protocol/index.js';
import { abortError, type CallOptions, CallScope, checkTimeout } from './call.js';
import { type FdfsClientInit, resolveInit } from './client-init.js';
import { checkSize, download } from './download.js';
import { withContext } from './errors.js';
import type {
  FdfsClientDeps,
  FileInfo,
  FileInfoOptions,
  MetadataOptions,
  RangeOptions,
  SlaveOptions,
  UploadOptions,
} from './options.js';
import { ConnectionPool, type UseOptions } from './pool.js';
import { readFromReplicas } from './replicas.js';
import { extOfPath, normalizeExt, resolveSource, type UploadSource } from './source.js';
import { type MetadataMode, StorageClient, type StoredName } from './storage-client.js';
import { TrackerClient } from './tracker-client.js';

/** Pool options of one request: replayable requests may retry on a fresh link; the call's signal. */
function useOpts(retryStale: boolean, signal: AbortSignal | undefined): UseOptions {
  return signal ? { retryStale, signal } : { retryStale };
}

export class FdfsClient implements AsyncDisposable {
  readonly pool: ConnectionPool;
  readonly tracker: TrackerClient;
  private readonly log: Logger;
  private readonly timeout: number | undefined;

  /**
   * `new FdfsClient({ trackers: ['10.0.0.1:22122'] })`, or a loaded client.conf (`ClientConfig`
   * or `loadClientConfig()`'s result); `FdfsClient.fromConf(path)` reads one. No I/O happens here:
   * connections open on the first call.
   */
  constructor(init: FdfsClientInit, deps: FdfsClientDeps = {}) {
    const { config, deps: d } = resolveInit(init, deps);
    checkTimeout(d.timeout, 'timeout');
    this.log = d.logger ?? silentLogger;
    this.timeout = d.timeout;
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
      ...(d.statLayout ? { statLayout: d.statLayout } : {}),
    });
  }

  /** A client from a FastDFS client.conf; `overrides` replace its keys (as `--set` does). */
  static async fromConf(
    path: string,
    overrides?: Overrides | Readonly<Record<string, string | readonly string[]>>,
    deps: FdfsClientDeps = {},
  ): Promise<FdfsClient> {
    const over =
      overrides === undefined || overrides instanceof Map
        ? (overrides as Overrides | undefined)
        : new Map(Object.entries(overrides).map(([k, v]) => [k, typeof v === 'string' ? [v] : [...v]]));
    const loaded = await loadClientConfig(path, over);
    for (const w of loaded.warnings) deps.logger?.warn(w);
    return new FdfsClient(loaded.config, deps);
  }

  /**
   * Uploads a Buffer, a local file, `{ stream, size }` or a Readable with `opts.size`; returns the
   * new file id. A call that fails or is aborted after the storage stored the file deletes it again.
   */
  upload(source: UploadSource, opts: UploadOptions = {}): Promise<string> {
    return this.call(opts, 'upload', undefined, async (signal) => {
      const ext =
        opts.ext !== undefined ? normalizeExt(opts.ext) : typeof source === 'string' ? extOfPath(source) : '';
      const content = await resolveSource(source, opts.size);
      const target = await this.tracker.queryStore(opts.group, signal);
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
        useOpts(content.replayable, signal),
      );
      return this.finishUpload(storage, stored, opts.metadata, signal);
    });
  }

  /** Uploads a slave file (e.g. a thumbnail) next to `masterFileId`; returns its id. */
  uploadSlave(masterFileId: string, source: UploadSource, opts: SlaveOptions): Promise<string> {
    return this.call(opts, `upload slave of ${masterFileId}`, masterFileId, async (signal) => {
      const master = parseFileId(masterFileId);
      const ext =
        opts.ext !== undefined
          ? normalizeExt(opts.ext)
          : (typeof source === 'string' ? extOfPath(source) : '') ||
            decodeRemoteFilename(master.remoteFilename).ext;
      // Validates prefix and ext against the master the way the storage will, before any I/O.
      slaveRemoteFilename(master.remoteFilename, opts.prefix, ext);
      const content = await resolveSource(source, opts.size);
      const target = await this.tracker.queryUpdate(masterFileId, signal);
      const storage = { host: target.ip, port: target.port };
      const req = { master: master.remoteFilename, prefix: opts.prefix, ext, content };
      const stored = await this.pool.use(
        storage,
        (c) => new StorageClient(c).uploadSlave(master.group, req),
        useOpts(content.replayable, signal),
      );
      return this.finishUpload(storage, stored, opts.metadata, signal);
    });
  }

  /**
   * The file's bytes (or a range) as a stream; the storage connection goes back to the pool once
   * the stream has been read to the end. The signal and timeout hold until then: firing, they
   * destroy the stream with the abort error.
   */
  async download(fileId: string, opts: RangeOptions = {}): Promise<Readable> {
    const parts = { pool: this.pool, tracker: this.tracker, log: this.log };
    return download(parts, fileId, opts, new CallScope(opts, this.timeout));
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

  delete(fileId: string, opts: CallOptions = {}): Promise<void> {
    return this.call(opts, `delete ${fileId}`, fileId, (signal) =>
      this.onSource(fileId, signal, (s, group, remote) => s.delete(group, remote)),
    );
  }

  /** Replaces the file's metadata, or with `merge` (or `{ mode: 'merge' }`) updates the keys given. */
  setMetadata(
    fileId: string,
    meta: Record<string, string>,
    modeOrOpts: MetadataMode | MetadataOptions = 'overwrite',
  ): Promise<void> {
    const opts = typeof modeOrOpts === 'string' ? { mode: modeOrOpts } : modeOrOpts;
    const mode = opts.mode ?? 'overwrite';
    return this.call(opts, `set metadata of ${fileId}`, fileId, (signal) =>
      this.onSource(fileId, signal, (s, group, remote) => s.setMetadata(group, remote, meta, mode)),
    );
  }

  /** The file's metadata; `{}` when it has none — and also when the file is missing (see StorageClient). */
  getMetadata(fileId: string, opts: CallOptions = {}): Promise<Record<string, string>> {
    return this.call(opts, `get metadata of ${fileId}`, fileId, (signal) =>
      this.onSource(fileId, signal, (s, group, remote) => s.getMetadata(group, remote)),
    );
  }

  /**
   * What the file id tells (§5.5); the storage is asked (22) when `fromServer` is true, or when it
   * is not set and the name cannot give the size (appender, slave).
   */
  fileInfo(fileId: string, opts: FileInfoOptions = {}): Promise<FileInfo> {
    return this.call(opts, `file info of ${fileId}`, fileId, async (signal) => {
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
      const info = await readFromReplicas(
        this.tracker,
        this.log,
        fileId,
        (t) =>
          this.pool.use(t, (c) => new StorageClient(c).queryFileInfo(group, remote), useOpts(true, signal)),
        signal,
      );
      return {
        ...local,
        source: info.sourceIp ? { kind: 'ip', ip: info.sourceIp } : d.source,
        timestamp: info.timestamp,
        size: info.size,
        crc32: info.crc32,
      };
    });
  }

  /** Appends to an appender file (a Readable source needs `opts.size`). */
  append(fileId: string, source: UploadSource, opts: CallOptions & { size?: number } = {}): Promise<void> {
    return this.call(opts, `append to ${fileId}`, fileId, async (signal) => {
      const content = await resolveSource(source, opts.size);
      await this.onSource(fileId, signal, (s, g, r) => s.append(g, r, content), content.replayable);
    });
  }

  /** Overwrites an appender file from `offset` (≤ its size); may extend it. */
  modify(
    fileId: string,
    offset: number,
    source: UploadSource,
    opts: CallOptions & { size?: number } = {},
  ): Promise<void> {
    return this.call(opts, `modify ${fileId}`, fileId, async (signal) => {
      checkSize(offset, 'offset', fileId);
      const content = await resolveSource(source, opts.size);
      await this.onSource(fileId, signal, (s, g, r) => s.modify(g, r, offset, content), content.replayable);
    });
  }

  /** Cuts (or extends) an appender file to `size` bytes. */
  truncate(fileId: string, size = 0, opts: CallOptions = {}): Promise<void> {
    return this.call(opts, `truncate ${fileId}`, fileId, async (signal) => {
      checkSize(size, 'size', fileId);
      await this.onSource(fileId, signal, (s, group, remote) => s.truncate(group, remote, size));
    });
  }

  /** Turns an appender file into a normal one; returns the new file id (the old one is gone). */
  regenerateAppenderFilename(fileId: string, opts: CallOptions = {}): Promise<string> {
    const action = `regenerate name of ${fileId}`;
    return this.call(opts, action, fileId, async (signal) => {
      const stored = await this.onSource(fileId, signal, (s, group, remote) =>
        s.regenerateAppenderFilename(group, remote),
      );
      return this.fileIdOf(stored, action);
    });
  }

  listGroups(opts: CallOptions = {}): Promise<GroupStat[]> {
    return this.call(opts, 'list groups', undefined, (signal) => this.tracker.listGroups(signal));
  }

  listStorages(group: string, opts: CallOptions = {}): Promise<StorageStat[]> {
    return this.call(opts, `list storages of ${group}`, undefined, (signal) =>
      this.tracker.listStorages(group, undefined, signal),
    );
  }

  /** Per (dest, source) pair of the group: synced-until; undefined from a FastDFS tracker. */
  syncStatus(group: string, opts: CallOptions = {}): Promise<SyncStatusRow[] | undefined> {
    return this.call(opts, `sync status of ${group}`, undefined, (signal) =>
      this.tracker.syncStatus(group, signal),
    );
  }

  /** Ends every pooled connection; the client cannot be used afterwards. */
  async close(): Promise<void> {
    this.pool.close();
  }

  /** `await using client = new FdfsClient(…)` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Runs one public call in its scope; async, so bad options reject rather than throw. */
  private async call<T>(
    opts: CallOptions,
    action: string,
    fileId: string | undefined,
    work: (signal: AbortSignal | undefined) => Promise<T>,
  ): Promise<T> {
    return new CallScope(opts, this.timeout).run(action, fileId, work);
  }

  /** A change goes to the storage the tracker names for updates (103), normally the source. */
  private async onSource<T>(
    fileId: string,
    signal: AbortSignal | undefined,
    fn: (s: StorageClient, group: string, remote: string) => Promise<T>,
    replayable = true,
  ): Promise<T> {
    const { group, remoteFilename } = parseFileId(fileId);
    const target = await this.tracker.queryUpdate(fileId, signal);
    return this.pool.use(
      { host: target.ip, port: target.port },
      (c) => fn(new StorageClient(c), group, remoteFilename),
      useOpts(replayable, signal),
    );
  }

  /**
   * Builds the id and sets metadata. When that fails, or the call was aborted once the storage
   * had stored the file, the file is deleted again (as the C client does on a set-meta failure),
   * so a failed upload leaves nothing behind.
   */
  private async finishUpload(
    storage: HostPort,
    stored: StoredName,
    meta: Record<string, string> | undefined,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const fileId = this.fileIdOf(stored, `upload to ${storage.host}:${storage.port}`);
    const { group, remote } = stored;
    try {
      if (signal?.aborted) throw abortError(signal, 'upload', fileId);
      if (meta && Object.keys(meta).length > 0) {
        await this.pool.use(
          storage,
          (c) => new StorageClient(c).setMetadata(group, remote, meta, 'overwrite'),
          useOpts(true, signal),
        );
      }
    } catch (err) {
      try {
        // Without the call's signal: it may be the reason we are here.
        await this.pool.use(storage, (c) => new StorageClient(c).delete(group, remote), { retryStale: true });
      } catch (delErr) {
        this.log.warn('could not delete a file whose upload failed', { fileId, err: delErr });
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
