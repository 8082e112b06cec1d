/** One storage server as the tracker knows it: what it said at join, and what it reports since. */
import { emptyCounters, type StatCounters, StorageStatus } from '../protocol/index.js';

export interface PathUsage {
  totalMb: number;
  freeMb: number;
}

/** Statuses a beat or disk report may promote to ACTIVE (upstream `tracker_mem_active_store_server`). */
const ACTIVATABLE: ReadonlySet<number> = new Set([
  StorageStatus.ONLINE,
  StorageStatus.OFFLINE,
  StorageStatus.RECOVERY,
  StorageStatus.ACTIVE,
]);

export class StorageNode {
  status: number = StorageStatus.INIT;
  port = 0;
  joinTime = 0; // unix seconds, as the storage reported it
  upTime = 0; // unix seconds
  version = '';
  storePathCount = 0;
  subdirCountPerPath = 0;
  uploadPriority = 0;
  paths: PathUsage[] = [];
  counters: StatCounters = emptyCounters();
  /** Clock ms of the last beat (also set by join and disk reports, so sweep sees any sign of life). */
  lastHeartBeat = 0;
  /** Unix seconds up to which this storage holds every file of its group (from sync reports). */
  lastSyncedTimestamp = 0;
  currentWritePath = 0;
  /** Sync source id while the storage copies old data (WAIT_SYNC/SYNCING); '' otherwise. */
  syncSrcId = '';
  /** The init_flag of the storage's last join here: 1 while it said it still needed its group's data. */
  joinInitFlag = 0;
  /** Unix seconds: the source forwards its replica records up to here (upstream sync_until_timestamp). */
  syncUntilTimestamp = 0;
  /**
   * Per source storage id: unix seconds up to which this storage holds that source's files, as
   * the storage reported them (89). Upstream keeps this as the group's last_sync_timestamps matrix.
   */
  syncedFrom = new Map<string, number>();

  constructor(
    readonly id: string,
    public ip: string,
  ) {}

  get totalMb(): number {
    return this.paths.reduce((n, p) => n + p.totalMb, 0);
  }

  get freeMb(): number {
    return this.paths.reduce((n, p) => n + p.freeMb, 0);
  }

  /** Serving reads and writes: the readable and writable sets of FastDFS (rw_mode is always both here). */
  get isActive(): boolean {
    return this.status === StorageStatus.ACTIVE;
  }

  /** ONLINE → ACTIVE on a report; storages still copying old data (INIT/WAIT_SYNC/SYNCING) wait. */
  get canActivate(): boolean {
    return ACTIVATABLE.has(this.status);
  }

  /** What delete-storage refuses with EBUSY: the server is (or claims to be) running. */
  get isBusy(): boolean {
    return (
      this.status === StorageStatus.ONLINE ||
      this.status === StorageStatus.ACTIVE ||
      this.status === StorageStatus.RECOVERY
    );
  }

  /** Upstream clears a deleted server's figures so a later rejoin starts afresh. */
  clearStats(): void {
    this.paths = [];
    this.counters = emptyCounters();
    this.lastSyncedTimestamp = 0;
    this.currentWritePath = 0;
    this.syncSrcId = '';
    this.syncUntilTimestamp = 0;
    this.syncedFrom.clear();
  }

  /** Still copying its group's old data: no readers, no writers, not yet a sync source. */
  get isCopyingOldData(): boolean {
    return (
      this.status === StorageStatus.INIT ||
      this.status === StorageStatus.WAIT_SYNC ||
      this.status === StorageStatus.SYNCING
    );
  }
}
