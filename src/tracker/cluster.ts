/**
 * The cluster as the tracker sees it: groups of storages and their statuses. Plain class, no
 * sockets; `now()` (clock ms) is passed in so tests can drive time. Handlers call these methods.
 */
import { FdfsError, type StatCounters, Status, StorageStatus } from '../protocol/index.js';
import { StorageGroup } from './group.js';
import { type PathUsage, StorageNode } from './storage-node.js';
import { mostFreePath } from './store-policy.js';
import { recordSyncReport, settleJoin } from './sync-state.js';

/** FastDFS limits (tracker_types.h). */
export const MAX_GROUPS = 512;
export const MAX_SERVERS_EACH_GROUP = 32;
export const MAX_STORE_PATHS = 256;
export const MAX_SUBDIR_COUNT = 256;

const GROUP_NAME_RE = /^[A-Za-z0-9]{1,16}$/;
const KNOWN_STATUSES: ReadonlySet<number> = new Set(Object.values(StorageStatus));
/** Statuses an unknown storage may not claim at join (upstream answers EFAULT; EINVAL here). */
const REFUSED_CLAIMS: ReadonlySet<number> = new Set([
  StorageStatus.DELETED,
  StorageStatus.IP_CHANGED,
  StorageStatus.NONE,
]);

export interface ClusterOptions {
  /** ms without a beat before an ONLINE/ACTIVE storage is marked OFFLINE by `sweep()`. */
  readonly checkActiveInterval: number;
  /** store_path: 2 keeps each storage's write path on its emptiest path at every disk report. */
  readonly storePath: 0 | 2;
  /** store_server: 0 (round robin) keeps the minimum of reported sync times, else the maximum. */
  readonly storeServer: 0 | 1 | 2;
}

export interface JoinInput {
  readonly group: string;
  /** The storage id: its ip unless storage ids are in use. */
  readonly id: string;
  /** Taken from the connection, never from the body. */
  readonly ip: string;
  readonly port: number;
  readonly storePathCount: number;
  readonly subdirCountPerPath: number;
  readonly uploadPriority: number;
  readonly joinTime: number;
  readonly upTime: number;
  readonly version: string;
  /** 1 = a fresh storage that still needs the old data (upstream init_flag). */
  readonly initFlag: number;
  /** The status the storage remembers (from an earlier join reply). */
  readonly status: number;
}

export interface JoinResult {
  readonly group: StorageGroup;
  readonly node: StorageNode;
  readonly inserted: boolean;
}

function invalid(msg: string): never {
  throw new FdfsError(Status.EINVAL, msg);
}

export class Cluster {
  readonly groups = new Map<string, StorageGroup>();
  /** Round-robin cursor over the sorted groups (store_lookup = 0). */
  currentWriteGroup = 0;

  constructor(
    readonly options: ClusterOptions,
    readonly now: () => number,
  ) {}

  /** Groups sorted by name, the order FastDFS lists and rotates them in. */
  sortedGroups(): StorageGroup[] {
    return [...this.groups.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  group(name: string): StorageGroup | undefined {
    return this.groups.get(name);
  }

  storage(group: string, id: string): StorageNode | undefined {
    return this.groups.get(group)?.storages.get(id);
  }

  /** A storage a joined connection reports for; gone or deleted means it must join again. */
  reporting(group: string, id: string): { group: StorageGroup; node: StorageNode } {
    const g = this.groups.get(group);
    const node = g?.storages.get(id);
    if (!g || !node || node.status === StorageStatus.DELETED || node.status === StorageStatus.IP_CHANGED) {
      throw new FdfsError(Status.ENOENT, `storage ${group}/${id} is not joined`);
    }
    return { group: g, node };
  }

  join(req: JoinInput): JoinResult {
    if (!GROUP_NAME_RE.test(req.group)) invalid(`invalid group name "${req.group}"`);
    if (!(req.port > 0 && req.port <= 65535)) invalid(`invalid storage port ${req.port}`);
    if (!(req.storePathCount > 0 && req.storePathCount <= MAX_STORE_PATHS)) {
      invalid(`invalid store_path_count ${req.storePathCount}`);
    }
    if (!(req.subdirCountPerPath > 0 && req.subdirCountPerPath <= MAX_SUBDIR_COUNT)) {
      invalid(`invalid subdir_count_per_path ${req.subdirCountPerPath}`);
    }
    const existingGroup = this.groups.get(req.group);
    const existing = existingGroup?.storages.get(req.id);
    if (!existingGroup && this.groups.size >= MAX_GROUPS) {
      throw new FdfsError(Status.ENOSPC, `too many groups (max ${MAX_GROUPS})`);
    }
    if (!existing && existingGroup && existingGroup.storages.size >= MAX_SERVERS_EACH_GROUP) {
      throw new FdfsError(
        Status.ENOSPC,
        `group ${req.group} is full (max ${MAX_SERVERS_EACH_GROUP} storages)`,
      );
    }
    if (!existing && !req.initFlag && REFUSED_CLAIMS.has(req.status)) {
      invalid(`storage ${req.id} claims status ${req.status} but is unknown here`);
    }
    const group = existingGroup ?? new StorageGroup(req.group);
    const adjust = this.checkGroupLayout(group, req);

    // Validated: from here on nothing throws, so a refused join leaves no trace.
    if (!existingGroup) this.groups.set(group.name, group);
    if (adjust.storePathCount) group.storePathCount = req.storePathCount;
    if (adjust.subdirCountPerPath) group.subdirCountPerPath = req.subdirCountPerPath;
    if (group.storagePort === 0) group.storagePort = req.port;

    let node = existing;
    const inserted = !node;
    if (!node) {
      node = new StorageNode(req.id, req.ip);
      group.storages.set(node.id, node);
      // A storage this tracker does not know yet may remember its status from another tracker.
      if (!req.initFlag && req.status > 0 && KNOWN_STATUSES.has(req.status)) {
        node.status = req.status === StorageStatus.ACTIVE ? StorageStatus.ONLINE : req.status;
      }
    } else if (node.status === StorageStatus.DELETED || node.status === StorageStatus.IP_CHANGED) {
      node.status = StorageStatus.INIT;
    }
    node.ip = req.ip;
    node.port = req.port;
    node.storePathCount = req.storePathCount;
    node.subdirCountPerPath = req.subdirCountPerPath;
    node.uploadPriority = req.uploadPriority;
    node.joinTime = req.joinTime;
    node.upTime = req.upTime;
    node.version = req.version;
    node.lastHeartBeat = this.now();
    if (node.status === StorageStatus.OFFLINE || node.status === StorageStatus.RECOVERY) {
      node.status = StorageStatus.ONLINE;
    }
    node.joinInitFlag = req.initFlag;
    settleJoin(group, node, req.initFlag);
    return { group, node, inserted };
  }

  /**
   * Upstream: a differing store_path_count is adopted when every other storage agrees with the
   * newcomer, refused when it is smaller than the group's; a differing subdir count is refused
   * unless all others agree.
   */
  private checkGroupLayout(
    group: StorageGroup,
    req: JoinInput,
  ): { storePathCount: boolean; subdirCountPerPath: boolean } {
    const others = group.live().filter((s) => s.id !== req.id);
    let storePathCount = group.storePathCount === 0;
    if (!storePathCount && group.storePathCount !== req.storePathCount) {
      storePathCount = others.every((s) => s.storePathCount === req.storePathCount);
      if (!storePathCount && req.storePathCount < group.storePathCount) {
        invalid(
          `store_path_count ${req.storePathCount} is less than group ${group.name}'s ${group.storePathCount}`,
        );
      }
    }
    let subdirCountPerPath = group.subdirCountPerPath === 0;
    if (!subdirCountPerPath && group.subdirCountPerPath !== req.subdirCountPerPath) {
      subdirCountPerPath = others.every((s) => s.subdirCountPerPath === req.subdirCountPerPath);
      if (!subdirCountPerPath) {
        invalid(
          `subdir_count_per_path ${req.subdirCountPerPath} differs from group ${group.name}'s ${group.subdirCountPerPath}`,
        );
      }
    }
    return { storePathCount, subdirCountPerPath };
  }

  /** A beat or disk report proves the storage serves: ONLINE (or OFFLINE, RECOVERY) → ACTIVE. */
  private activate(node: StorageNode): boolean {
    if (!node.canActivate || node.status === StorageStatus.ACTIVE) return false;
    node.status = StorageStatus.ACTIVE;
    return true;
  }

  /** Cmd 83. Returns true when the status changed. The stat_buff's last two fields are ours. */
  heartbeat(group: string, id: string, counters?: StatCounters): boolean {
    const { node } = this.reporting(group, id);
    if (counters) {
      node.counters = {
        ...counters,
        lastSyncedTimestamp: node.counters.lastSyncedTimestamp,
        lastHeartBeatTime: node.counters.lastHeartBeatTime,
      };
    }
    node.lastHeartBeat = this.now();
    node.counters.lastHeartBeatTime = Math.floor(node.lastHeartBeat / 1000);
    return this.activate(node);
  }

  /** Cmd 84: one (total, free) pair per store path of the group. Returns true when the status changed. */
  reportDiskUsage(group: string, id: string, paths: readonly PathUsage[]): boolean {
    const { group: g, node } = this.reporting(group, id);
    if (paths.length !== g.storePathCount) {
      invalid(`disk report of ${paths.length} paths, group ${g.name} has ${g.storePathCount}`);
    }
    node.paths = paths.map((p) => ({ totalMb: p.totalMb, freeMb: p.freeMb }));
    if (this.options.storePath === 2) node.currentWritePath = mostFreePath(node.paths, node.currentWritePath);
    node.lastHeartBeat = this.now();
    return this.activate(node);
  }

  /** Cmd 89: how far this storage has caught up with each source (see recordSyncReport). */
  reportSync(group: string, id: string, rows: readonly { id: string; timestamp: number }[]): void {
    const { group: g, node } = this.reporting(group, id);
    recordSyncReport(g, node, rows, this.options.storeServer);
  }

  /** Timer-driven: storages silent for longer than checkActiveInterval go OFFLINE. Returns them. */
  sweep(): { group: string; storage: StorageNode }[] {
    const now = this.now();
    const changed: { group: string; storage: StorageNode }[] = [];
    for (const g of this.groups.values()) {
      for (const s of g.storages.values()) {
        const running = s.status === StorageStatus.ACTIVE || s.status === StorageStatus.ONLINE;
        if (running && now - s.lastHeartBeat > this.options.checkActiveInterval) {
          s.status = StorageStatus.OFFLINE;
          changed.push({ group: g.name, storage: s });
        }
      }
    }
    return changed;
  }

  /** The storage's tracker connection closed (upstream task clean-up). Returns true when it went OFFLINE. */
  disconnect(group: string, id: string): boolean {
    const node = this.storage(group, id);
    if (!node || !(node.status === StorageStatus.ACTIVE || node.status === StorageStatus.ONLINE)) {
      return false;
    }
    node.status = StorageStatus.OFFLINE;
    node.upTime = 0;
    return true;
  }

  /** Cmd 93: only a stopped storage may be deleted; it stays listed as DELETED until a restart. */
  deleteStorage(group: string, id: string): StorageNode {
    const g = this.groups.get(group);
    if (!g) throw new FdfsError(Status.ENOENT, `group ${group} not found`);
    const node = g.storages.get(id);
    if (!node || node.status === StorageStatus.IP_CHANGED) {
      throw new FdfsError(Status.ENOENT, `storage ${id} not found in group ${group}`);
    }
    if (node.isBusy) {
      throw new FdfsError(
        Status.EBUSY,
        `storage ${id} is ${node.status === StorageStatus.ACTIVE ? 'ACTIVE' : 'running'}`,
      );
    }
    if (node.status === StorageStatus.DELETED) {
      throw new FdfsError(Status.EALREADY, `storage ${id} is already deleted`);
    }
    node.clearStats();
    node.status = StorageStatus.DELETED;
    return node;
  }
}
