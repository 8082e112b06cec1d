/** What cmd 90/91/92 report and cmd 75 tells storages and the nginx module. */
import type { ReservedSpace, TrackerConfig } from '../config/types.js';
import type { GroupStat, StorageStat } from '../protocol/index.js';
import type { StorageGroup } from './group.js';
import { formatReserved, reservedMb } from './space.js';
import type { StorageNode } from './storage-node.js';

/** rw_mode "both" (R_OK | W_OK): without storage ids every storage reads and writes. */
const RW_BOTH = 6;

export function groupStat(g: StorageGroup, reserve: ReservedSpace): GroupStat {
  const space = g.space();
  const active = g.active().length;
  return {
    groupName: g.name,
    totalMb: space.totalMb,
    freeMb: space.freeMb,
    reservedMb: reservedMb(reserve, space.totalMb),
    trunkFreeMb: 0,
    storageCount: g.storages.size,
    storagePort: g.storagePort,
    storageHttpPort: 0,
    readableCount: active,
    writableCount: active,
    activeCount: active,
    currentWriteServer: g.currentWriteServer,
    storePathCount: g.storePathCount,
    subdirCountPerPath: g.subdirCountPerPath,
    // Trunk files are off: newer trackers print -1 here.
    currentTrunkFileId: -1,
  };
}

export function storageStat(s: StorageNode, reserve: ReservedSpace): StorageStat {
  const totalMb = s.totalMb;
  return {
    status: s.status,
    rwMode: RW_BOTH,
    id: s.id,
    ip: s.ip,
    domainName: '',
    srcId: s.syncSrcId,
    version: s.version,
    joinTime: s.joinTime,
    upTime: s.upTime,
    totalMb,
    freeMb: s.freeMb,
    reservedMb: reservedMb(reserve, totalMb),
    uploadPriority: s.uploadPriority,
    storePathCount: s.storePathCount,
    subdirCountPerPath: s.subdirCountPerPath,
    currentWritePath: s.currentWritePath,
    storagePort: s.port,
    storageHttpPort: 0,
    counters: {
      ...s.counters,
      lastSyncedTimestamp: s.lastSyncedTimestamp,
      lastHeartBeatTime: Math.floor(s.lastHeartBeat / 1000),
    },
    ifTrunkServer: false,
  };
}

const b = (v: boolean) => (v ? 1 : 0);

/**
 * Cmd 75 reply, the keys and order of upstream `tracker_deal_parameter_req`. Trunk files are not
 * implemented, so use_trunk_file=0 and the trunk keys carry FastDFS' defaults.
 */
export function parameterText(config: TrackerConfig): string {
  const lines: [string, string | number][] = [
    ['use_storage_id', b(config.useStorageId)],
    ['id_type_in_filename', config.idTypeInFilename],
    ['trust_storage_server_id', 1],
    ['response_ip_addr_size', 16],
    ['storage_ip_changed_auto_adjust', 0],
    ['storage_sync_file_max_delay', Math.floor(config.storageSyncFileMaxDelay / 1000)],
    ['store_path', config.storePath],
    ['reserved_storage_space', formatReserved(config.reservedStorageSpace)],
    ['use_trunk_file', 0],
    ['slot_min_size', 256],
    ['slot_max_size', 8 * 1024 * 1024],
    ['trunk_alloc_alignment_size', 256],
    ['trunk_file_size', 64 * 1024 * 1024],
    ['trunk_create_file_advance', 0],
    ['trunk_create_file_time_base', '02:00'],
    ['trunk_create_file_interval', 86400],
    ['trunk_create_file_space_threshold', 0],
    ['trunk_init_check_occupying', 0],
    ['trunk_init_reload_from_binlog', 0],
    ['trunk_free_space_merge', 0],
    ['delete_unused_trunk_files', 0],
    ['trunk_compress_binlog_min_interval', 0],
    ['trunk_compress_binlog_interval', 0],
    ['trunk_compress_binlog_time_base', '03:00'],
    ['trunk_binlog_max_backups', 0],
    ['store_slave_file_use_link', 0],
  ];
  return lines.map(([k, v]) => `${k}=${v}\n`).join('');
}
