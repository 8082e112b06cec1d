/** GET /api/cluster: groups and their storages as `fdfs monitor` shows them, as JSON. */
import { peerSync } from '../client/index.js';
import type { GroupStat, StorageStat, SyncStatusRow } from '../protocol/index.js';
import { storageStatusName } from '../protocol/index.js';
import type { RemoteStore } from './types.js';

/**
 * fdfs_monitor's "synced delay": the newest last_source_update among the other storages of the
 * group minus this one's last_synced_timestamp; null when no peer has written anything.
 */
function syncLag(
  s: StorageStat,
  group: readonly StorageStat[],
): { syncLag: number | null; neverSynced: boolean } {
  let newest = 0;
  for (const o of group) if (o !== s) newest = Math.max(newest, o.counters.lastSourceUpdate);
  if (newest === 0) return { syncLag: null, neverSynced: false };
  if (s.counters.lastSyncedTimestamp === 0) return { syncLag: null, neverSynced: true };
  return { syncLag: Math.max(0, newest - s.counters.lastSyncedTimestamp), neverSynced: false };
}

/**
 * Per peer: up to when this storage holds the peer's files and how far behind its newest upload
 * that is (see peerSync). null when the tracker has no matrix to give (a FastDFS tracker).
 */
function syncFrom(s: StorageStat, group: readonly StorageStat[], rows: readonly SyncStatusRow[] | undefined) {
  if (!rows) return null;
  return peerSync(s.id, rows, group).map((p) => ({
    source: p.source,
    syncedUntil: p.syncedUntil,
    lag: p.lag,
    neverSynced: p.neverSynced,
  }));
}

function storageView(
  s: StorageStat,
  group: readonly StorageStat[],
  rows: readonly SyncStatusRow[] | undefined,
) {
  const c = s.counters;
  return {
    id: s.id,
    ip: s.ip,
    port: s.storagePort,
    httpPort: s.storageHttpPort,
    status: storageStatusName(s.status),
    version: s.version,
    sourceId: s.srcId,
    joinTime: s.joinTime,
    upTime: s.upTime,
    totalMb: s.totalMb,
    freeMb: s.freeMb,
    uploadPriority: s.uploadPriority,
    storePathCount: s.storePathCount,
    currentWritePath: s.currentWritePath,
    lastHeartBeatTime: c.lastHeartBeatTime,
    lastSourceUpdate: c.lastSourceUpdate,
    lastSyncUpdate: c.lastSyncUpdate,
    lastSyncedTimestamp: c.lastSyncedTimestamp,
    ...syncLag(s, group),
    syncFrom: syncFrom(s, group, rows),
    counters: c,
  };
}

function groupView(
  g: GroupStat,
  storages: readonly StorageStat[],
  rows: readonly SyncStatusRow[] | undefined,
) {
  return {
    name: g.groupName,
    totalMb: g.totalMb,
    freeMb: g.freeMb,
    reservedMb: g.reservedMb,
    storageCount: g.storageCount,
    activeCount: g.activeCount,
    writableCount: g.writableCount,
    readableCount: g.readableCount,
    storagePort: g.storagePort,
    storePathCount: g.storePathCount,
    subdirCountPerPath: g.subdirCountPerPath,
    currentWriteServer: g.currentWriteServer,
    storages: storages.map((s) => storageView(s, storages, rows)),
  };
}

export async function clusterView(remote: RemoteStore) {
  const groups = await remote.listGroups();
  const [lists, matrices] = await Promise.all([
    Promise.all(groups.map((g) => remote.listStorages(g.groupName))),
    Promise.all(groups.map((g) => remote.syncStatus(g.groupName))),
  ]);
  return { groups: groups.map((g, i) => groupView(g, lists[i] ?? [], matrices[i])) };
}
