export { abortError, type CallOptions, CallScope } from './call.js';
export type { FdfsClientInit } from './client-init.js';
export { Connection, type ConnectOptions, isStatusReply } from './connection.js';
export { describeStatus } from './errors.js';
export { FdfsClient } from './fdfs-client.js';
export type {
  FdfsClientDeps,
  FdfsClientOptions,
  FileInfo,
  FileInfoOptions,
  MetadataOptions,
  RangeOptions,
  SlaveOptions,
  UploadOptions,
} from './options.js';
export { ConnectionPool, type PoolOptions, peerKey, type UseOptions } from './pool.js';
export { readFromReplicas, worthAnotherReplica } from './replicas.js';
export { type Content, extOfPath, normalizeExt, resolveSource, type UploadSource } from './source.js';
export {
  type DownloadRange,
  type MetadataMode,
  type SlaveRequest,
  StorageClient,
  type StoredName,
  type UploadRequest,
} from './storage-client.js';
export { type PeerSync, peerSync, worstPeer } from './sync-lag.js';
export { TrackerClient, type TrackerClientOptions } from './tracker-client.js';
