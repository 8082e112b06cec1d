/**
 * How a storage joining a group gets the group's existing files, as FastDFS does it
 * (tracker_mem.c, tracker_service.c): INIT → WAIT_SYNC (a source and an until-timestamp are
 * assigned) → SYNCING (the source started copying) → ONLINE (the source copied everything) →
 * ACTIVE (next beat). Only ACTIVE storages get readers and writers, so a newcomer serves nothing
 * it does not hold. Also the per-source "synced up to" matrix behind the fetch rule (§3.3).
 * Plain functions over the model; the clock is passed in.
 */
import { FdfsError, Status, StorageStatus, type SyncSource, type SyncStatusRow } from '../protocol/index.js';
import type { StorageGroup } from './group.js';
import type { StorageNode } from './storage-node.js';

/**
 * Storages a newcomer may copy from: ACTIVE ones (sorted by id, so every tracker asked the same
 * question picks the same one), else ONLINE ones, which serve but have not beaten yet.
 */
export function syncSourceCandidates(group: StorageGroup, node: StorageNode): StorageNode[] {
  const others = group.sorted().filter((s) => s !== node);
  const active = others.filter((s) => s.status === StorageStatus.ACTIVE);
  return active.length > 0 ? active : others.filter((s) => s.status === StorageStatus.ONLINE);
}

function copying(node: StorageNode): boolean {
  return (
    (node.status === StorageStatus.WAIT_SYNC || node.status === StorageStatus.SYNCING) &&
    node.syncSrcId !== ''
  );
}

/**
 * At join. `initFlag` 0: the storage says it holds its group's data. A storage known here as INIT
 * (no copy assigned) is then ONLINE, but a copy in progress stands, as upstream keeps it: a stock
 * storage sends 0 as soon as it has a source, long before its copy is done (the source reports
 * that, 76; ours reports itself ONLINE once a tracker lists it serving). `initFlag` 1 (it still
 * needs the data) with no copy in progress: INIT until it asks for a source (87) or tells which it
 * got (88), or ONLINE at once when this tracker knows no peer to copy from (upstream waits for
 * the 87 to say so).
 */
export function settleJoin(group: StorageGroup, node: StorageNode, initFlag: number): void {
  if (!initFlag) {
    if (node.status === StorageStatus.INIT) node.status = StorageStatus.ONLINE;
    return;
  }
  if (copying(node)) return;
  node.syncSrcId = '';
  node.syncUntilTimestamp = 0;
  node.status = syncSourceCandidates(group, node).length === 0 ? StorageStatus.ONLINE : StorageStatus.INIT;
}

/**
 * Cmd 87 SYNC_DEST_REQ, from the newcomer: its source and until-timestamp, assigned now if it has
 * none. undefined = nothing to copy (it goes ONLINE).
 */
export function syncDestReq(group: StorageGroup, node: StorageNode, nowSec: number): SyncSource | undefined {
  if (copying(node)) return { srcId: node.syncSrcId, until: node.syncUntilTimestamp };
  if (!node.isCopyingOldData) return undefined;
  const src = syncSourceCandidates(group, node)[0];
  if (!src) {
    node.status = StorageStatus.ONLINE;
    return undefined;
  }
  node.status = StorageStatus.WAIT_SYNC;
  node.syncSrcId = src.id;
  node.syncUntilTimestamp = nowSec;
  return { srcId: src.id, until: nowSec };
}

/**
 * Cmd 88 SYNC_NOTIFY, from a newcomer that got its source from another tracker: trackers share
 * no store, so the storage carries the assignment to each of them.
 */
export function syncNotify(node: StorageNode, src: SyncSource): void {
  // A stock storage repeats its old source at every connect, long after the copy (joining with
  // init_flag 0): only a storage still copying, or one that joined needing data and was made
  // ONLINE for want of a peer here, takes it. Upstream moves INIT to WAIT_SYNC and leaves others.
  const joinedNeedingData = node.status === StorageStatus.ONLINE && node.joinInitFlag !== 0;
  if (!node.isCopyingOldData && !joinedNeedingData) return;
  if (node.status !== StorageStatus.SYNCING || node.syncSrcId !== src.srcId) {
    node.status = StorageStatus.WAIT_SYNC;
  }
  node.syncSrcId = src.srcId;
  node.syncUntilTimestamp = src.until;
}

/** Cmd 86 SYNC_SRC_REQ, from any peer of `destId`: whom it copies from and until when. */
export function syncSrcQuery(group: StorageGroup, destId: string): SyncSource | undefined {
  const node = group.storages.get(destId);
  return node && copying(node) ? { srcId: node.syncSrcId, until: node.syncUntilTimestamp } : undefined;
}

/**
 * Cmd 76 REPORT_STATUS: the source says it started (SYNCING) or finished copying to `target`:
 * ONLINE from fastdfs-ts, OFFLINE from a stock storage (its next beat makes it ACTIVE either
 * way); a storage may also report itself ONLINE once it knows its copy is complete. Returns true
 * when the status changed. Other transitions are the tracker's own and are refused.
 */
export function reportStatus(target: StorageNode, status: number): boolean {
  if (status === StorageStatus.SYNCING) {
    if (target.status !== StorageStatus.WAIT_SYNC) return false;
    target.status = StorageStatus.SYNCING;
    return true;
  }
  if (status === StorageStatus.ONLINE || status === StorageStatus.OFFLINE) {
    if (!target.isCopyingOldData) return false;
    target.status = status;
    return true;
  }
  throw new FdfsError(Status.EINVAL, `report status: a storage may not set status ${status}`);
}

/**
 * Cmd 89: the reporting storage holds every file of each listed source up to its timestamp.
 * Rows for itself, for storages outside the group and zero timestamps are ignored. Round robin
 * (store_server = 0) may send a reader to any storage, so it needs the minimum over every
 * ACTIVE source (one never heard from counts as 0, as upstream's matrix starts at 0); the other
 * store policies keep the maximum, as upstream does.
 */
export function recordSyncReport(
  group: StorageGroup,
  node: StorageNode,
  rows: readonly { id: string; timestamp: number }[],
  storeServer: 0 | 1 | 2,
): void {
  for (const r of rows) {
    if (r.timestamp > 0 && r.id !== node.id && group.storages.has(r.id))
      node.syncedFrom.set(r.id, r.timestamp);
  }
  const sources = group.active().filter((s) => s !== node);
  if (storeServer === 0) {
    if (sources.length > 0) {
      node.lastSyncedTimestamp = Math.min(...sources.map((s) => node.syncedFrom.get(s.id) ?? 0));
    }
  } else {
    const ids = new Set(sources.map((s) => s.id));
    const reported = rows.filter((r) => r.timestamp > 0 && ids.has(r.id)).map((r) => r.timestamp);
    node.lastSyncedTimestamp = Math.max(node.lastSyncedTimestamp, ...reported);
  }
  node.counters.lastSyncedTimestamp = node.lastSyncedTimestamp;
}

/**
 * Cmd 121 (fastdfs-ts): the matrix itself, one row per ordered pair of the group's storages,
 * both sorted by id. Every pair is listed, 0 where the dest never reported the source, so a
 * monitor also sees the pairs that never synced. Deleted and superseded storages are left out.
 */
export function syncMatrix(group: StorageGroup): SyncStatusRow[] {
  const members = group.live();
  return members.flatMap((dest) =>
    members
      .filter((source) => source !== dest)
      .map((source) => ({
        dest: dest.id,
        source: source.id,
        syncedUntil: dest.syncedFrom.get(source.id) ?? 0,
      })),
  );
}
