/** Cluster ⇄ plain data, for the state file. */
import { STAT_COUNTER_NAMES, type StatCounters, StorageStatus } from '../protocol/index.js';
import type { Cluster } from './cluster.js';
import { StorageGroup } from './group.js';
import { type PathUsage, StorageNode } from './storage-node.js';

export interface StorageSnapshot {
  id: string;
  ip: string;
  port: number;
  status: number;
  joinTime: number;
  upTime: number;
  version: string;
  storePathCount: number;
  subdirCountPerPath: number;
  uploadPriority: number;
  paths: PathUsage[];
  counters: StatCounters;
  lastHeartBeat: number;
  lastSyncedTimestamp: number;
  currentWritePath: number;
  syncSrcId: string;
  /** Absent in state files written before replication. */
  syncUntilTimestamp?: number;
  syncedFrom?: Record<string, number>;
}

export interface GroupSnapshot {
  name: string;
  storePathCount: number;
  subdirCountPerPath: number;
  storagePort: number;
  storages: StorageSnapshot[];
  /**
   * The highest trunk file id reported (cmd 73) and the trunk server, as FastDFS keeps
   * current_trunk_file_id and trunk_server per group: a trunk server chosen after a restart
   * numbers its trunk files on from there. Absent in files written before they were kept.
   */
  currentTrunkFileId?: number;
  trunkServerId?: string;
}

export interface ClusterSnapshot {
  groups: GroupSnapshot[];
}

/** Deleted and IP-changed records are not written (upstream `tracker_save_storages` skips them). */
export function snapshotCluster(cluster: Cluster): ClusterSnapshot {
  return {
    groups: cluster.sortedGroups().map((g) => ({
      name: g.name,
      storePathCount: g.storePathCount,
      subdirCountPerPath: g.subdirCountPerPath,
      storagePort: g.storagePort,
      currentTrunkFileId: g.currentTrunkFileId,
      ...(g.trunkServerId !== undefined && { trunkServerId: g.trunkServerId }),
      storages: g.live().map((s) => ({
        id: s.id,
        ip: s.ip,
        port: s.port,
        status: s.status,
        joinTime: s.joinTime,
        upTime: s.upTime,
        version: s.version,
        storePathCount: s.storePathCount,
        subdirCountPerPath: s.subdirCountPerPath,
        uploadPriority: s.uploadPriority,
        paths: s.paths.map((p) => ({ ...p })),
        counters: { ...s.counters },
        lastHeartBeat: s.lastHeartBeat,
        lastSyncedTimestamp: s.lastSyncedTimestamp,
        currentWritePath: s.currentWritePath,
        syncSrcId: s.syncSrcId,
        syncUntilTimestamp: s.syncUntilTimestamp,
        syncedFrom: Object.fromEntries(s.syncedFrom),
      })),
    })),
  };
}

/** Statuses a storage keeps across a tracker restart: it was still copying old data. */
const KEPT_ON_LOAD: ReadonlySet<number> = new Set([
  StorageStatus.INIT,
  StorageStatus.WAIT_SYNC,
  StorageStatus.SYNCING,
]);

/**
 * Loads a snapshot into an empty cluster. As upstream `tracker_load_storages_new` does, every
 * storage that is not mid-sync comes back OFFLINE: it is ONLINE again only when it rejoins.
 */
export function restoreCluster(cluster: Cluster, snap: ClusterSnapshot): void {
  for (const gs of snap.groups) {
    const g = new StorageGroup(gs.name);
    g.storePathCount = gs.storePathCount;
    g.subdirCountPerPath = gs.subdirCountPerPath;
    g.storagePort = gs.storagePort;
    g.currentTrunkFileId = gs.currentTrunkFileId ?? 0;
    g.trunkServerId = gs.trunkServerId;
    for (const ss of gs.storages) {
      const s = new StorageNode(ss.id, ss.ip);
      s.status = KEPT_ON_LOAD.has(ss.status) ? ss.status : StorageStatus.OFFLINE;
      s.port = ss.port;
      s.joinTime = ss.joinTime;
      s.upTime = ss.upTime;
      s.version = ss.version;
      s.storePathCount = ss.storePathCount;
      s.subdirCountPerPath = ss.subdirCountPerPath;
      s.uploadPriority = ss.uploadPriority;
      s.paths = ss.paths.map((p) => ({ totalMb: p.totalMb, freeMb: p.freeMb }));
      s.counters = { ...ss.counters };
      s.lastHeartBeat = ss.lastHeartBeat;
      s.lastSyncedTimestamp = ss.lastSyncedTimestamp;
      s.currentWritePath = ss.currentWritePath;
      s.syncSrcId = ss.syncSrcId;
      s.syncUntilTimestamp = ss.syncUntilTimestamp ?? 0;
      s.syncedFrom = new Map(Object.entries(ss.syncedFrom ?? {}));
      g.storages.set(s.id, s);
    }
    cluster.groups.set(g.name, g);
  }
}

type Check = (v: unknown) => boolean;
const isInt: Check = (v) => Number.isSafeInteger(v);
const isStr: Check = (v) => typeof v === 'string';
const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function hasFields(v: unknown, fields: Record<string, Check>): boolean {
  return isObj(v) && Object.entries(fields).every(([k, check]) => check(v[k]));
}

const isPath: Check = (v) => hasFields(v, { totalMb: isInt, freeMb: isInt });
const counterFields: Record<string, Check> = {
  connAllocCount: isInt,
  connCurrentCount: isInt,
  connMaxCount: isInt,
};
for (const n of STAT_COUNTER_NAMES) counterFields[n] = isInt;
const storageFields: Record<string, Check> = {
  id: isStr,
  ip: isStr,
  port: isInt,
  status: isInt,
  joinTime: isInt,
  upTime: isInt,
  version: isStr,
  storePathCount: isInt,
  subdirCountPerPath: isInt,
  uploadPriority: isInt,
  paths: (v) => Array.isArray(v) && v.every(isPath),
  counters: (v) => hasFields(v, counterFields),
  lastHeartBeat: isInt,
  lastSyncedTimestamp: isInt,
  currentWritePath: isInt,
  syncSrcId: isStr,
  syncUntilTimestamp: (v) => v === undefined || isInt(v),
  syncedFrom: (v) => v === undefined || (isObj(v) && Object.values(v).every(isInt)),
};
const groupFields: Record<string, Check> = {
  name: (v) => typeof v === 'string' && /^[A-Za-z0-9]{1,16}$/.test(v),
  storePathCount: isInt,
  subdirCountPerPath: isInt,
  storagePort: isInt,
  storages: (v) => Array.isArray(v) && v.every((s) => hasFields(s, storageFields)),
  currentTrunkFileId: (v) => v === undefined || (isInt(v) && (v as number) >= 0),
  trunkServerId: (v) => v === undefined || isStr(v),
};

/** Shape check of parsed JSON; a file that passes its checksum but not this is still refused. */
export function isClusterSnapshot(v: unknown): v is ClusterSnapshot {
  return isObj(v) && Array.isArray(v.groups) && v.groups.every((g) => hasFields(g, groupFields));
}
