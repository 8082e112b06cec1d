/**
 * The group's storages as each tracker lists them (cmd 92, fetched after every beat), merged into
 * one peer set. Trackers share no store and may briefly disagree; a peer is pushed to if any
 * tracker lists it, and dropped when one lists it DELETED. Peers are told apart by id only —
 * never by "is this one of my addresses", which is how FastDFS 6.16 ends up replicating one way
 * when a storage sits on 127.0.0.1.
 */
import { type StorageStat, StorageStatus } from '../../protocol/index.js';

export interface PeerInfo {
  readonly id: string;
  readonly ip: string;
  readonly port: number;
  /** Every tracker that lists it says INIT: its source is not decided yet, wait. */
  readonly undecided: boolean;
  /** Some tracker says WAIT_SYNC / SYNCING: it is copying old data (ask 86 who from). */
  readonly copying: boolean;
  /** Some tracker says ONLINE / ACTIVE: it runs (a flip means it went away or came back). */
  readonly serving: boolean;
}

interface View {
  readonly at: number;
  readonly list: readonly StorageStat[];
}

export class PeerViews {
  private readonly views = new Map<string, View>();

  update(tracker: string, list: readonly StorageStat[], now: number): void {
    this.views.set(tracker, { at: now, list });
  }

  drop(tracker: string): void {
    this.views.delete(tracker);
  }

  get size(): number {
    return this.views.size;
  }

  /** The ids one tracker lists ACTIVE (its last list), sorted. */
  activeIds(tracker: string): string[] {
    const list = this.views.get(tracker)?.list ?? [];
    return list
      .filter((s) => s.status === StorageStatus.ACTIVE)
      .map((s) => s.id)
      .sort();
  }

  /** This storage's record in one tracker's list. */
  self(tracker: string, myId: string): StorageStat | undefined {
    return this.views.get(tracker)?.list.find((s) => s.id === myId);
  }

  /** Finds this storage by the exact address and port a tracker recorded for it. */
  findSelf(tracker: string, ip: string, port: number): StorageStat | undefined {
    return this.views.get(tracker)?.list.find((s) => s.ip === ip && s.storagePort === port);
  }

  merged(myId: string): { peers: Map<string, PeerInfo>; deleted: Map<string, StorageStat> } {
    const deleted = new Map<string, StorageStat>();
    const seen = new Map<string, { latest: StorageStat; at: number; statuses: number[] }>();
    for (const view of this.views.values()) {
      for (const s of view.list) {
        if (s.id === myId || s.status === StorageStatus.IP_CHANGED) continue;
        if (s.status === StorageStatus.DELETED) {
          deleted.set(s.id, s);
          continue;
        }
        const prev = seen.get(s.id);
        if (!prev) seen.set(s.id, { latest: s, at: view.at, statuses: [s.status] });
        else {
          prev.statuses.push(s.status);
          if (view.at >= prev.at) Object.assign(prev, { latest: s, at: view.at });
        }
      }
    }
    const peers = new Map<string, PeerInfo>();
    for (const [id, { latest, statuses }] of seen) {
      if (deleted.has(id)) continue;
      peers.set(id, {
        id,
        ip: latest.ip,
        port: latest.storagePort,
        undecided: statuses.every((st) => st === StorageStatus.INIT),
        copying: statuses.some((st) => st === StorageStatus.WAIT_SYNC || st === StorageStatus.SYNCING),
        serving: statuses.some((st) => st === StorageStatus.ONLINE || st === StorageStatus.ACTIVE),
      });
    }
    return { peers, deleted };
  }
}
