/** tracker.conf → TrackerConfig. */
import { applyOverrides, type RawConf, readConfFile } from './conf-file.js';
import { ConfReader } from './reader.js';
import {
  allowHostsOf,
  type BuildOptions,
  basePathOf,
  type Loaded,
  type Overrides,
  relativeToConf,
  requireGroupName,
  timeouts,
} from './shared.js';
import { trunkConfigOf } from './trunk.js';
import type { TrackerConfig } from './types.js';
import { DEFAULT_TRACKER_PORT } from './values.js';

/** Builds a TrackerConfig from already-read values. */
export function trackerConfigFrom(raw: RawConf, options: BuildOptions = {}): Loaded<TrackerConfig> {
  const r = new ConfReader(raw, 'tracker', options.source ?? '<conf>');
  const basePath = basePathOf(r, options, './data/tracker');
  const storeLookup = r.choice('store_lookup', 2, [0, 1, 2] as const);
  const storeGroup = r.entry('store_group');
  // The group name only matters when uploads are pinned to it (store_lookup = 1).
  if (storeLookup === 1) requireGroupName(r, 'store_group', storeGroup);
  const idsFile = r.entry('storage_ids_filename');
  const trunk = trunkConfigOf(r);
  const storeServer = r.choice('store_server', 0, [0, 1, 2] as const);
  const config: TrackerConfig = {
    disabled: r.bool('disabled', false),
    bindAddr: r.string('bind_addr', ''),
    port: r.int('port', DEFAULT_TRACKER_PORT, 0, 65535),
    ...timeouts(r),
    basePath,
    maxConnections: r.int('max_connections', 1024, 1, 1_000_000),
    maxConnectionsPerHost: r.int('max_connections_per_host', 0, 0, 1_000_000),
    firstHeaderTimeout: r.duration('first_header_timeout', 5000, 's', 100),
    storeLookup,
    storeGroup: storeGroup?.value ?? '',
    // As FastDFS: with trunk files, round robin gives way to "first by ip", so one storage
    // allocates most of the small files.
    storeServer: trunk.useTrunkFile && storeServer === 0 ? 1 : storeServer,
    storePath: r.choice('store_path', 0, [0, 2] as const),
    downloadServer: r.choice('download_server', 0, [0, 1] as const),
    reservedStorageSpace: Object.freeze(
      r.reservedSpace('reserved_storage_space', { kind: 'ratio', ratio: 0.2 }),
    ),
    checkActiveInterval: r.duration('check_active_interval', 120_000, 's', 1000),
    storageSyncFileMaxDelay: r.duration('storage_sync_file_max_delay', 86_400_000, 's', 1000),
    storageSyncFileMaxTime: r.duration('storage_sync_file_max_time', 300_000, 's', 1000),
    useStorageId: r.bool('use_storage_id', false),
    storageIdsFilename: relativeToConf(idsFile, 'storage_ids.conf', options),
    // FastDFS treats anything but `id` as ip.
    idTypeInFilename: r.choice('id_type_in_filename', 'ip', ['ip', 'id'] as const),
    statLayout: r.choice('stat_layout', 'current', ['current', 'classic'] as const),
    allowHosts: allowHostsOf(r),
    logLevel: r.logLevel('log_level', 'info'),
    trunk,
  };
  return { config: Object.freeze(config), warnings: r.finish() };
}

/** Reads tracker.conf (and its includes); `overrides` replace the file's values per key. */
export async function loadTrackerConfig(path: string, overrides?: Overrides): Promise<Loaded<TrackerConfig>> {
  const raw = applyOverrides(await readConfFile(path), overrides);
  return trackerConfigFrom(raw, { source: path });
}

/** A TrackerConfig with no conf file: FastDFS defaults, base_path ./data/tracker, plus overrides. */
export function defaultTrackerConfig(overrides?: Overrides): Loaded<TrackerConfig> {
  return trackerConfigFrom(applyOverrides(new Map(), overrides), { noFile: true });
}
