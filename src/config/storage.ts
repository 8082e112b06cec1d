/** storage.conf → StorageConfig. */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { applyOverrides, type ConfEntry, type RawConf, readConfFile } from './conf-file.js';
import { MAX_STORE_PATHS } from './keys.js';
import { badValue, ConfReader } from './reader.js';
import {
  allowHostsOf,
  type BuildOptions,
  basePathOf,
  type Loaded,
  type Overrides,
  requireGroupName,
  timeouts,
  trackerServersOf,
} from './shared.js';
import type { StorageConfig } from './types.js';
import { parseInteger } from './values.js';

export const STORAGE_DEFAULT_PORT = 23000;
const INT32_MAX = 2 ** 31 - 1;

/**
 * store_path0 … store_pathN-1: numbered from 0 without gaps, store_path0 defaulting to
 * base_path as in FastDFS. store_path_count, when given, must equal the number found.
 */
function storePathsOf(r: ConfReader, basePath: string): readonly string[] {
  const given: { index: number; entry: ConfEntry }[] = [];
  for (let index = 0; index < MAX_STORE_PATHS; index++) {
    const entry = r.has(`store_path${index}`) ? r.entry(`store_path${index}`) : undefined;
    if (entry !== undefined) given.push({ index, entry });
  }
  const paths: string[] = [basePath];
  for (const { index, entry } of given) {
    const key = `store_path${index}`;
    if (entry.value === '') throw badValue(entry, key, 'a directory path');
    if (index > paths.length) {
      throw badValue(
        entry,
        key,
        `store_path${paths.length} to be set too (store paths are numbered from 0, no gaps)`,
      );
    }
    const path = resolve(entry.value);
    if (paths.indexOf(path) !== -1 && paths.indexOf(path) !== index) {
      throw badValue(entry, key, 'a directory no other store_pathN uses');
    }
    paths[index] = path;
  }
  const count = r.entry('store_path_count');
  if (count !== undefined) {
    const n = parseInteger(count.value);
    if (n === undefined || n < 1 || n > MAX_STORE_PATHS) {
      throw badValue(count, 'store_path_count', `an integer from 1 to ${MAX_STORE_PATHS}`);
    }
    if (n !== paths.length) {
      throw badValue(count, 'store_path_count', `${paths.length}, the number of store_pathN keys given`);
    }
  }
  return Object.freeze(paths);
}

function advertiseAddrOf(r: ConfReader): string {
  const entry = r.entry('advertise_addr');
  if (entry === undefined || entry.value === '') return '';
  // An address or host name only: the port written into file ids is this storage's `port`.
  if (isIP(entry.value) === 0 && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(entry.value)) {
    throw badValue(entry, 'advertise_addr', 'an IP address or host name, without a port');
  }
  return entry.value;
}

/** server_id: a storage id as storage_ids.conf lists it (FDFS_STORAGE_ID_MAX_SIZE = 16 with NUL). */
function serverIdOf(r: ConfReader): string {
  const entry = r.entry('server_id');
  if (entry === undefined || entry.value === '') return '';
  if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(entry.value)) {
    throw badValue(entry, 'server_id', 'an id of 1 to 15 letters, digits or _.:-');
  }
  return entry.value;
}

/** Builds a StorageConfig from already-read values. */
export function storageConfigFrom(raw: RawConf, options: BuildOptions = {}): Loaded<StorageConfig> {
  const r = new ConfReader(raw, 'storage', options.source ?? '<conf>');
  const basePath = basePathOf(r, options, './data/storage');
  const group = r.entry('group_name');
  const config: StorageConfig = {
    disabled: r.bool('disabled', false),
    groupName: group === undefined ? 'group1' : requireGroupName(r, 'group_name', group),
    bindAddr: r.string('bind_addr', ''),
    port: r.int('port', STORAGE_DEFAULT_PORT, 0, 65535),
    ...timeouts(r),
    heartBeatInterval: r.duration('heart_beat_interval', 30_000, 's', 1),
    statReportInterval: r.duration('stat_report_interval', 60_000, 's', 1),
    basePath,
    maxConnections: r.int('max_connections', 1024, 1, 1_000_000),
    maxConnectionsPerHost: r.int('max_connections_per_host', 0, 0, 1_000_000),
    firstHeaderTimeout: r.duration('first_header_timeout', 5000, 's', 100),
    buffSize: r.size('buff_size', 256 * 1024, 8 * 1024, 64 * 1024 * 1024),
    cacheMaxFileSize: r.size('cache_max_file_size', 256 * 1024, 0, 64 * 1024 * 1024),
    cacheMaxMemory: r.size('cache_max_memory', 64 * 1024 * 1024, 0, Number.MAX_SAFE_INTEGER),
    cacheRevalidate: r.duration('cache_revalidate', 1000, 'ms', 0),
    workProcesses: r.int('work_processes', 0, 0, 64),
    storePaths: storePathsOf(r, basePath),
    subdirCountPerPath: r.int('subdir_count_per_path', 256, 1, 256),
    trackerServers: trackerServersOf(r, options),
    fileDistributePathMode: r.choice('file_distribute_path_mode', 0, [0, 1] as const),
    fileDistributeRotateCount: r.int('file_distribute_rotate_count', 100, 1, INT32_MAX),
    // Unlike the tracker (20%), a storage reserves nothing unless told to.
    reservedStorageSpace: Object.freeze(
      r.reservedSpace('reserved_storage_space', { kind: 'bytes', bytes: 0 }),
    ),
    syncWaitMsec: r.duration('sync_wait_msec', 50, 'ms', 1),
    syncInterval: r.duration('sync_interval', 0, 'ms', 0),
    syncPushConnections: r.int('sync_push_connections', 64, 1, 64),
    uploadPriority: r.int('upload_priority', 10, -INT32_MAX - 1, INT32_MAX),
    durableWrites: r.bool('durable_writes', true),
    advertiseAddr: advertiseAddrOf(r),
    serverId: serverIdOf(r),
    allowHosts: allowHostsOf(r),
    logLevel: r.logLevel('log_level', 'info'),
  };
  return { config: Object.freeze(config), warnings: r.finish() };
}

/** Reads storage.conf (and its includes); `overrides` replace the file's values per key. */
export async function loadStorageConfig(path: string, overrides?: Overrides): Promise<Loaded<StorageConfig>> {
  const raw = applyOverrides(await readConfFile(path), overrides);
  return storageConfigFrom(raw, { source: path });
}

/**
 * A StorageConfig with no conf file: FastDFS defaults, base_path ./data/storage and
 * tracker_server 127.0.0.1:22122 unless overridden.
 */
export function defaultStorageConfig(overrides?: Overrides): Loaded<StorageConfig> {
  return storageConfigFrom(applyOverrides(new Map(), overrides), { noFile: true });
}
