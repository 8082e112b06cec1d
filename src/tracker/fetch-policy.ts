/**
 * Which storage serves an existing file (fact sheet §3.3; upstream
 * `tracker_mem_get_storage_by_filename`): the source, or any storage that has caught up with it.
 */
import type { SourceId } from '../fileid/index.js';
import { FdfsError, Status } from '../protocol/index.js';
import type { StorageGroup } from './group.js';
import type { StorageNode } from './storage-node.js';
import { preferredStoreServer, selectStoreServer } from './store-policy.js';

export interface FetchPolicy {
  readonly downloadServer: 0 | 1; // round robin, source first
  readonly storeServer: 0 | 1 | 2;
  readonly storageSyncFileMaxDelay: number; // ms
  readonly storageSyncFileMaxTime: number; // ms
}

/** What the tracker reads from a file name: who wrote it, when, and whether replicas are plain copies. */
export interface FileFacts {
  readonly source: SourceId;
  /** Unix seconds. */
  readonly timestamp: number;
  /** Appender and slave files are served by their source only (trunk files count as normal). */
  readonly normal: boolean;
}

export function isSourceOf(node: StorageNode, source: SourceId): boolean {
  return source.kind === 'id' ? node.id === String(source.id) : node.ip === source.ip;
}

/**
 * The "has the file" rule: the source; or the file is older than storage_sync_file_max_delay; or
 * the storage synced past the file's time; or it synced up to it and max_time has passed.
 */
export function mayHaveFile(node: StorageNode, file: FileFacts, nowMs: number, policy: FetchPolicy): boolean {
  const now = Math.floor(nowMs / 1000);
  const ts = file.timestamp;
  const synced = node.lastSyncedTimestamp;
  return (
    isSourceOf(node, file.source) ||
    ts < now - Math.floor(policy.storageSyncFileMaxDelay / 1000) ||
    synced > ts ||
    (synced + 1 >= ts && now - ts > Math.floor(policy.storageSyncFileMaxTime / 1000))
  );
}

function noent(group: StorageGroup): FdfsError {
  return new FdfsError(Status.ENOENT, `no readable storage in group ${group.name} holds the file`);
}

/** Last resort of 102/105: the group's store server, which the client then asks anyway. */
function fallback(group: StorageGroup, policy: FetchPolicy): StorageNode {
  const s = preferredStoreServer(group, policy);
  if (!s) throw noent(group);
  return s;
}

/** Cmd 102 QUERY_FETCH_ONE. */
export function selectFetchOne(
  group: StorageGroup,
  file: FileFacts,
  policy: FetchPolicy,
  nowMs: number,
): StorageNode {
  const readable = group.active();
  if (readable.length === 0) throw noent(group);
  if (!file.normal || policy.downloadServer === 1) {
    const src = readable.find((s) => isSourceOf(s, file.source));
    if (src) return src;
  }
  if (file.normal) {
    const start = group.currentReadServer;
    for (let i = start; i < start + readable.length; i++) {
      const s = readable[i % readable.length];
      if (s && mayHaveFile(s, file, nowMs, policy)) {
        group.currentReadServer = i + 1 >= readable.length ? 0 : i + 1;
        return s;
      }
    }
  }
  return fallback(group, policy);
}

/** Cmd 103 QUERY_UPDATE: changes go to the source when it is writable, else to any writable storage. */
export function selectUpdate(group: StorageGroup, file: FileFacts, policy: FetchPolicy): StorageNode {
  const writable = group.active();
  if (writable.length === 0) throw noent(group);
  return writable.find((s) => isSourceOf(s, file.source)) ?? selectStoreServer(group, policy);
}

/** Cmd 105 QUERY_FETCH_ALL: every readable storage that may hold the file (the source only for appender/slave). */
export function selectFetchAll(
  group: StorageGroup,
  file: FileFacts,
  policy: FetchPolicy,
  nowMs: number,
): StorageNode[] {
  const readable = group.active();
  if (readable.length === 0) throw noent(group);
  const found = file.normal
    ? readable.filter((s) => mayHaveFile(s, file, nowMs, policy))
    : readable.filter((s) => isSourceOf(s, file.source));
  return found.length > 0 ? found : [fallback(group, policy)];
}
