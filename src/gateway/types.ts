/**
 * What the gateway needs from the outside. It never imports storage: beside a storage, cli hands
 * in a LocalStore over that storage's engine (hot reads straight from disk, uploads straight into
 * its durable writer); for everything else it goes through the cluster with a RemoteStore.
 */
import type { Readable } from 'node:stream';
import type { FdfsClient } from '../client/index.js';
import type { Logger } from '../common/index.js';
import type { GatewayContext } from './context.js';
import type { FileReply, FileRequest, FileService } from './file-get.js';
import type { FileTarget } from './file-url.js';

export interface LocalStat {
  readonly size: number;
  readonly mtimeMs: number;
}

/** An open stored file: its size as of opening, reads at positions, then close. */
export interface LocalHandle extends LocalStat {
  /** Up to `length` bytes at `position`; fewer only at the end of the file. */
  read(position: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
  /**
   * Where the bytes are on disk, for an adapter that sends from a descriptor (sendfile): the open
   * descriptor and the offset of the file's byte 0 in it (not 0 inside a trunk file). Valid until
   * close().
   */
  readonly region?: FileRegion;
}

export interface FileRegion {
  readonly fd: number;
  readonly offset: number;
}

export interface LocalUpload {
  readonly ext: string;
  /** Refuse (EFBIG) a body longer than this; the store removes what it wrote. */
  readonly maxSize: number;
  /** The exact length when the request says it (PUT with Content-Length). */
  readonly size?: number;
  /**
   * Awaited once the body is written and synced, before the file gets its name (binlog record,
   * link): what must be durable before the file may exist (S3's upload intent) is written while
   * the file's own bytes are synced, instead of before they may arrive. A rejection drops the file.
   */
  readonly commitAfter?: () => Promise<unknown>;
  /**
   * Called once the whole body is written, before it is synced, with its size and CRC-32 (the
   * values the file's name will carry): S3's upload intent starts from them, so the bytes are not
   * counted and summed a second time on their way in.
   */
  readonly bodyEnded?: (size: number, crc32: number) => void;
}

/** The storage the gateway runs beside. Every method throws FdfsError ENOENT for a missing file. */
export interface LocalStore {
  readonly group: string;
  stat(remote: string): Promise<LocalStat>;
  open(remote: string): Promise<LocalHandle>;
  /** Streams `body` into a new file; returns its remote filename (`M00/…`). */
  upload(body: Readable, opts: LocalUpload): Promise<string>;
  delete(remote: string): Promise<void>;
  /** `{}` when the file has no metadata. */
  getMetadata(remote: string): Promise<Record<string, string>>;
  /** `mode` 'merge' keeps names not in `meta` (default: 'overwrite'). */
  setMetadata(remote: string, meta: Record<string, string>, mode?: 'overwrite' | 'merge'): Promise<void>;
  /** Stores `data` as the slave `prefix`.`ext` of `master` (EEXIST if taken); returns its name. */
  uploadSlave?(master: string, prefix: string, ext: string, data: Buffer): Promise<string>;
  /**
   * Counts a GET the gateway answered from this storage's disk (or its cache of it) in the
   * storage's own counters, which `fdfs monitor` shows: `bytes` sent, `ok` false when the client
   * left before the end. Uploads and deletes through this interface count themselves.
   */
  countDownload?(bytes: number, ok: boolean): void;
  /**
   * Calls `listener` with the remote filename of every file about to change or be deleted here,
   * whoever asked (native clients, replication), so the gateway's cache drops it at once instead
   * of at its next revalidation. Returns the unsubscribe.
   */
  watch?(listener: (remote: string) => void): () => void;
}

/** The part of the public client the gateway uses; FdfsClient fits, tests may pass a fake. */
export type RemoteStore = Pick<
  FdfsClient,
  | 'upload'
  | 'uploadSlave'
  | 'download'
  | 'delete'
  | 'getMetadata'
  | 'setMetadata'
  | 'fileInfo'
  | 'listGroups'
  | 'listStorages'
  | 'syncStatus'
>;

/**
 * Image variants (src/image, wired in by cli): the file routes hand it variant requests
 * (`?w=&h=…`) and missing files whose name may be a variant, the DELETE route a master first.
 */
export interface VariantHook {
  /** Whether a query asks for a variant (w, h, fit, fmt or q present). */
  wants(query: URLSearchParams | undefined): boolean;
  /** A stored variant answered from the small-file cache without awaiting; undefined = slow path. */
  fast(target: FileTarget, query: string, plain: boolean, accept: string | undefined): FileReply | undefined;
  serve(req: FileRequest, target: FileTarget): Promise<FileReply>;
  /** A file URL whose file is missing: the answer when its name is a variant to render. */
  missing(req: FileRequest, target: FileTarget): Promise<FileReply | undefined>;
  /** Before an HTTP DELETE of `target`: its recorded variants leave the cache (and the cluster). */
  beforeDelete(target: FileTarget): Promise<void>;
  /** For POST /api/sign: the subject a link for this variant carries, and its canonical query. */
  signable(fileId: string, variant: string): { subject: string; query: string };
  /** Prometheus text lines for /metrics. */
  metrics(): string;
}

export type VariantPlugin = (host: { ctx: GatewayContext; files: FileService }) => VariantHook;

export interface GatewayDeps {
  readonly local?: LocalStore;
  readonly remote?: RemoteStore;
  readonly logger?: Logger;
  /** Image variants on file URLs; none: `?w=…` queries are ignored as any other query. */
  readonly variants?: VariantPlugin;
  /** Clock in ms (token and link expiry, cache revalidation); Date.now by default. */
  readonly now?: () => number;
}
