/** What cmd 90/91/92 report and cmd 75 tells storages and the nginx module. */
import type { ReservedSpace, TrackerConfig } from '../config/types.js';
import type { GroupStat, StorageStat } from '../protocol/index.js';
import type { StorageGroup } from './group.js';
import { formatReserved, reservedMb } from './space.js';
import type { StorageNode } from './storage-node.js';

/** rw_mode "both" (R_OK | W_OK): without storage ids every storage reads and writes. */
const RW_BOTH = 6;

export function groupStat(g: StorageGroup, reserve: ReservedSpace, useTrunkFile = false): GroupStat {
  const space = g.space();
  const active = g.active().length;
  return {
    groupName: g.name,
    totalMb: space.totalMb,
    freeMb: space.freeMb,
    reservedMb: reservedMb(reserve, space.totalMb),
    trunkFreeMb: useTrunkFile ? g.trunkFreeMb : 0,
    storageCount: g.storages.size,
    storagePort: g.storagePort,
    storageHttpPort: 0,
    readableCount: active,
    writableCount: active,
    activeCount: active,
    currentWriteServer: g.currentWriteServer,
    storePathCount: g.storePathCount,
    subdirCountPerPath: g.subdirCountPerPath,
    // Newer trackers print -1 with trunk files off.
    currentTrunkFileId: useTrunkFile ? g.currentTrunkFileId : -1,
  };
}

export function storageStat(s: StorageNode, reserve: ReservedSpace, trunkServerId?: string): StorageStat {
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
    ifTrunkServer: trunkServerId !== undefined && s.id === trunkServerId,
  };
}

const b = (v: boolean) => (v ? 1 : 0);

/** Cmd 75 reply, the keys and order of upstream `tracker_deal_parameter_req`. */
export function parameterText(config: TrackerConfig): string {
  const t = config.trunk;
  const lines: [string, string | number][] = [
    ['use_storage_id', b(config.useStorageId)],
    ['id_type_in_filename', config.idTypeInFilename],
    ['trust_storage_server_id', 1],
    ['response_ip_addr_size', 16],
    ['storage_ip_changed_auto_adjust', 0],
    ['storage_sync_file_max_delay', Math.floor(config.storageSyncFileMaxDelay / 1000)],
    ['store_path', config.storePath],
    ['reserved_storage_space', formatReserved(config.reservedStorageSpace)],
    ['use_trunk_file', b(t.useTrunkFile)],
    ['slot_min_size', t.slotMinSize],
    ['slot_max_size', t.slotMaxSize],
    ['trunk_alloc_alignment_size', t.trunkAllocAlignmentSize],
    ['trunk_file_size', t.trunkFileSize],
    ['trunk_create_file_advance', b(t.trunkCreateFileAdvance)],
    ['trunk_create_file_time_base', t.trunkCreateFileTimeBase],
    ['trunk_create_file_interval', Math.floor(t.trunkCreateFileInterval / 1000)],
    ['trunk_create_file_space_threshold', t.trunkCreateFileSpaceThreshold],
    ['trunk_init_check_occupying', b(t.trunkInitCheckOccupying)],
    ['trunk_init_reload_from_binlog', b(t.trunkInitReloadFromBinlog)],
    ['trunk_free_space_merge', b(t.trunkFreeSpaceMerge)],
    ['delete_unused_trunk_files', b(t.deleteUnusedTrunkFiles)],
    ['trunk_compress_binlog_min_interval', t.trunkCompressBinlogMinInterval],
    ['trunk_compress_binlog_interval', t.trunkCompressBinlogInterval],
    ['trunk_compress_binlog_time_base', t.trunkCompressBinlogTimeBase],
    ['trunk_binlog_max_backups', t.trunkBinlogMaxBackups],
    ['store_slave_file_use_link', 0],
  ];
  return lines.map(([k, v]) => `${k}=${v}\n`).join('');
}
