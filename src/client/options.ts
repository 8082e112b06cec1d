/** Options and results of the public FdfsClient API. */
import type { Logger } from '../common/index.js';
import type { HostPort, StatLayout } from '../config/types.js';
import type { FileType, SourceId } from '../fileid/index.js';
import type { CallOptions } from './call.js';

export interface FdfsClientDeps {
  readonly logger?: Logger;
  /** Stat record layout assumed when a list reply fits both (fact sheet §3.4). Default 'current'. */
  readonly statLayout?: StatLayout;
  /** Default time limit (ms) of every call that does not pass its own `timeout`. Default none. */
  readonly timeout?: number;
}

/** `new FdfsClient({ trackers: ['10.0.0.1:22122'] })`: a client without a client.conf. */
export interface FdfsClientOptions extends FdfsClientDeps {
  /** `host:port` (port 22122 when left out), `[v6]:port`, or `{ host, port }`; at least one. */
  readonly trackers: readonly (string | HostPort)[];
  /** ms to wait for a TCP connect (connect_timeout). Default 5000. */
  readonly connectTimeout?: number;
  /** ms a request may wait for the peer's next bytes (network_timeout). Default 60000. */
  readonly networkTimeout?: number;
  /** Keep connections open between calls (use_connection_pool). Default true. */
  readonly pool?: boolean;
  /** ms an idle pooled connection is kept (connection_pool_max_idle_time). Default 3600000. */
  readonly maxIdleTime?: number;
}

export interface UploadOptions extends CallOptions {
  /** Byte count of a Readable body passed without `{ stream, size }`. */
  readonly size?: number;
  /** Without the dot, ≤ 6 chars. Default: a path source's extension, else none. */
  readonly ext?: string;
  /** Upload into this group (104) instead of the one the tracker picks (101). */
  readonly group?: string;
  /** Set (overwrite) right after the upload; the file is deleted again if that fails. */
  readonly metadata?: Record<string, string>;
  /** Store an appender file, which append/modify/truncate can change later. */
  readonly appender?: boolean;
}

export interface SlaveOptions extends CallOptions {
  /** Appended to the master's name, e.g. `_150x150`. */
  readonly prefix: string;
  /** Default: a path source's extension, else the master's. */
  readonly ext?: string;
  /** Byte count of a Readable body passed without `{ stream, size }`. */
  readonly size?: number;
  readonly metadata?: Record<string, string>;
}

export interface RangeOptions extends CallOptions {
  readonly offset?: number;
  /** Bytes to read; absent or 0 reads to the end. */
  readonly length?: number;
}

export interface FileInfo {
  readonly source: SourceId;
  /** Unix seconds: from the name, or the file's mtime when the server was asked. */
  readonly timestamp: number;
  /** -1 when unknown (appender or slave decoded locally). */
  readonly size: number;
  readonly crc32: number;
  readonly type: FileType;
}

export interface FileInfoOptions extends CallOptions {
  /** Ask the storage (22) instead of decoding the id; default: only when the id cannot tell the size. */
  readonly fromServer?: boolean;
}

export interface MetadataOptions extends CallOptions {
  /** `overwrite` replaces the whole set (default), `merge` updates the keys given. */
  readonly mode?: 'overwrite' | 'merge';
}
