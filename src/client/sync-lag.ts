/**
 * How far a storage is behind each of its peers, from the tracker's sync matrix (121) and the
 * stat records (92). Pure; `fdfs monitor` and the gateway's /api/cluster both show it, so the
 * rule lives in one place.
 */
import type { StorageStat, SyncStatusRow } from '../protocol/index.js';

export interface PeerSync {
  /** The peer's storage id (its ip unless storage ids are in use). */
  readonly source: string;
  /** Unix seconds: this storage holds every file the peer created before; 0 = never reported. */
  readonly syncedUntil: number;
  /**
   * Seconds between the peer's newest upload (its last_source_update) and syncedUntil, 0 when
   * caught up; null when there is no figure (never synced, or the peer has written nothing).
   */
  readonly lag: number | null;
  /** The peer has written files and this storage has never reported holding any of them. */
  readonly neverSynced: boolean;
}

/** The peers `dest` syncs from, in the tracker's order (by source id). */
export function peerSync(
  dest: string,
  rows: readonly SyncStatusRow[],
  storages: readonly StorageStat[],
): PeerSync[] {
  const lastUpdate = new Map(storages.map((s) => [s.id, s.counters.lastSourceUpdate]));
  return rows
    .filter((r) => r.dest === dest)
    .map((r) => {
      const update = lastUpdate.get(r.source) ?? 0;
      // Nothing reported yet: only a problem once the peer has something to hand over.
      if (r.syncedUntil === 0)
        return { source: r.source, syncedUntil: 0, lag: null, neverSynced: update > 0 };
      // A watermark may run ahead of the peer's last upload: that is caught up, not negative.
      return {
        source: r.source,
        syncedUntil: r.syncedUntil,
        lag: Math.max(0, update - r.syncedUntil),
        neverSynced: false,
      };
    });
}

/** The peer a storage is furthest behind: a never-synced one first, then the largest lag. */
export function worstPeer(peers: readonly PeerSync[]): PeerSync | undefined {
  let worst: PeerSync | undefined;
  const rank = (p: PeerSync) => (p.neverSynced ? Number.POSITIVE_INFINITY : (p.lag ?? -1));
  for (const p of peers) if (!worst || rank(p) > rank(worst)) worst = p;
  return worst;
}
