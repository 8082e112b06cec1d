/** A group: storages that hold the same files. Cursors for round robin live here, as in FastDFS. */
import { StorageStatus } from '../protocol/index.js';
import type { StorageNode } from './storage-node.js';

export interface GroupSpace {
  totalMb: number;
  freeMb: number;
}

function byId(a: StorageNode, b: StorageNode): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export class StorageGroup {
  readonly storages = new Map<string, StorageNode>();
  storePathCount = 0;
  subdirCountPerPath = 0;
  /** The port of the first storage that joined (what group stats print as storage_port). */
  storagePort = 0;
  /** Round-robin cursor over the writable storages (store_server = 0). */
  currentWriteServer = 0;
  /** Round-robin cursor over the readable storages (download_server = 0). */
  currentReadServer = 0;
  /** The storage that hands out trunk space (use_trunk_file); see trunk.ts. */
  trunkServerId: string | undefined;
  /**
   * The trunk server the tracker leader's last ping answer named (a follower names it, and only
   * it); undefined until one came on the current leader link. Not saved.
   */
  trunkFromLeader: string | undefined;
  /** The trunk server's highest trunk file id (cmd 73) and free trunk space in MB (cmd 74). */
  currentTrunkFileId = 0;
  trunkFreeMb = 0;

  constructor(readonly name: string) {}

  /** Every storage, sorted by id (upstream keeps `sorted_servers` in strcmp order). */
  sorted(): StorageNode[] {
    return [...this.storages.values()].sort(byId);
  }

  /** ACTIVE storages sorted by id: FastDFS' readable and writable sets (rw_mode is always both here). */
  active(): StorageNode[] {
    return this.sorted().filter((s) => s.isActive);
  }

  /** Storages that count, i.e. not removed by an admin or superseded by an IP change. */
  live(): StorageNode[] {
    return this.sorted().filter(
      (s) => s.status !== StorageStatus.DELETED && s.status !== StorageStatus.IP_CHANGED,
    );
  }

  /**
   * The group holds as much as its fullest member: upstream takes total/free from the writable
   * server with the least free space. With none active, the last known figures still print.
   */
  space(): GroupSpace {
    const pool = this.active();
    const reported = (pool.length > 0 ? pool : this.live()).filter((s) => s.paths.length > 0);
    let min: StorageNode | undefined;
    for (const s of reported) if (!min || s.freeMb < min.freeMb) min = s;
    return min ? { totalMb: min.totalMb, freeMb: min.freeMb } : { totalMb: 0, freeMb: 0 };
  }
}
