/**
 * `fastdfs-ts`: the client and what its callers need around it (errors and their codes, file id
 * helpers, client.conf loading). Everything else in the package is private.
 */
export {
  type CallOptions,
  FdfsClient,
  type FdfsClientDeps,
  type FdfsClientInit,
  type FdfsClientOptions,
  type FileInfo,
  type FileInfoOptions,
  type MetadataMode,
  type MetadataOptions,
  type RangeOptions,
  type SlaveOptions,
  type UploadOptions,
  type UploadSource,
} from '../client/index.js';
export {
  createLogger,
  FdfsError,
  isFdfsError,
  type Logger,
  type LogLevel,
  Status,
  type StatusCode,
  silentLogger,
  statusName,
} from '../common/index.js';
export {
  type ClientConfig,
  defaultClientConfig,
  type HostPort,
  type Loaded,
  loadClientConfig,
  type Overrides,
} from '../config/index.js';
export {
  type DecodedName,
  decodeRemoteFilename,
  type FileId,
  type FileType,
  formatFileId,
  isValidGroupName,
  parseFileId,
  type SourceId,
} from '../fileid/index.js';
export type { GroupStat, StorageStat, SyncStatusRow } from '../protocol/index.js';
export type { ConfValue, ConfValues } from './conf-values.js';
