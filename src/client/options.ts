/** Options and results of the public FdfsClient API. */
import type { Logger } from '../common/index.js';
import type { StatLayout } from '../config/types.js';
import type { FileType, SourceId } from '../fileid/index.js';

export interface FdfsClientDeps {
  readonly logger?: Logger;
  /** Stat record layout assumed when a list reply fits both (fact sheet §3.4). Default 'current'. */
  readonly statLayout?: StatLayout;
}

export interface UploadOptions {
  /** Without the dot, ≤ 6 chars. Default: a path source's extension, else none. */
  readonly ext?: string;
  /** Upload into this group (104) instead of the one the tracker picks (101). */
  readonly group?: string;
  /** Set (overwrite) right after the upload; the file is deleted again if that fails. */
  readonly metadata?: Record<string, string>;
  /** Store an appender file, which append/modify/truncate can change later. */
  readonly appender?: boolean;
}

export interface SlaveOptions {
  /** Appended to the master's name, e.g. `_150x150`. */
  readonly prefix: string;
  /** Default: a path source's extension, else the master's. */
  readonly ext?: string;
  readonly metadata?: Record<string, string>;
}

export interface RangeOptions {
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
