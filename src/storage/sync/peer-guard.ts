/**
 * Who may push changes to this storage: only storages of its own group that the trackers list,
 * and only from the address the trackers recorded for them. Without this anyone reaching the
 * port could claim an id (REPORT_SERVER_ID) and rewrite any file with SYNC_UPDATE_FILE.
 * The lists come from the trackers (cmd 92): fed after every reporter cycle, and fetched afresh,
 * at most once a second, when an unknown peer knocks (a storage that joined a moment ago).
 * A tracker's last list is kept when the link to it drops, so replication does not stop while a
 * tracker restarts.
 */
import { isIP } from 'node:net';
import { plainAddress } from '../../config/index.js';
import { type StorageStat, StorageStatus } from '../../protocol/index.js';

export const PEER_REFRESH_MS = 1000;

export interface PeerGuardDeps {
  /** Every answering tracker's list of this group (cmd 92), by tracker name. */
  readonly fetch: () => Promise<ReadonlyMap<string, readonly StorageStat[]>>;
  /** Addresses of a host name a storage advertised (dns lookup); used only for such names. */
  readonly resolve: (name: string) => Promise<readonly string[]>;
  /** Clock in ms. */
  readonly now: () => number;
}

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly why: string };

const GONE: ReadonlySet<number> = new Set([StorageStatus.DELETED, StorageStatus.IP_CHANGED]);

export class PeerGuard {
  private readonly lists = new Map<string, readonly StorageStat[]>();
  private lastFetch = Number.NEGATIVE_INFINITY;
  private fetching: Promise<void> | undefined;
  /** Host names some storage advertised, resolved on the last refresh. */
  private readonly names = new Map<string, readonly string[]>();

  constructor(private readonly deps: PeerGuardDeps) {}

  /** A tracker's current list of the group. */
  update(tracker: string, list: readonly StorageStat[]): void {
    this.lists.set(tracker, list);
  }

  /** From what is known now, without asking anyone. */
  check(id: string, remoteIp: string): Verdict {
    const ip = plainAddress(remoteIp);
    let listed = false;
    for (const list of this.lists.values()) {
      for (const s of list) {
        if (s.id !== id || GONE.has(s.status)) continue;
        listed = true;
        if (s.ip === ip || this.names.get(s.ip)?.includes(ip)) return { ok: true };
      }
    }
    return {
      ok: false,
      why: listed
        ? `storage ${id} is listed by the trackers at another address`
        : `no tracker lists storage ${id} in this group`,
    };
  }

  /** The one storage of the group the trackers list at this address (not `self`), if exactly one. */
  private idAt(remoteIp: string, self: string): string | undefined {
    const ip = plainAddress(remoteIp);
    const ids = new Set<string>();
    for (const list of this.lists.values()) {
      for (const s of list) {
        if (s.id === self || GONE.has(s.status)) continue;
        if (s.ip === ip || this.names.get(s.ip)?.includes(ip)) ids.add(s.id);
      }
    }
    return ids.size === 1 ? [...ids][0] : undefined;
  }

  /**
   * A sync connection that never named itself: FastDFS 6.16 pushes over several connections per
   * peer and sends REPORT_SERVER_ID on the first only. The peer is the storage listed at the
   * connection's address, when that is one storage (with storage ids, several may share a host).
   */
  async identify(remoteIp: string, self: string): Promise<string | undefined> {
    const known = this.idAt(remoteIp, self);
    if (known !== undefined) return known;
    await this.refreshSoon();
    return this.idAt(remoteIp, self);
  }

  private async refreshSoon(): Promise<void> {
    if (this.deps.now() - this.lastFetch >= PEER_REFRESH_MS) {
      this.fetching ??= this.refresh().finally(() => {
        this.fetching = undefined;
      });
    }
    if (this.fetching) await this.fetching;
  }

  /** check(), and on a miss one fresh look at the trackers' lists (at most once a second). */
  async admit(id: string, remoteIp: string): Promise<Verdict> {
    const first = this.check(id, remoteIp);
    if (first.ok) return first;
    await this.refreshSoon();
    return this.check(id, remoteIp);
  }

  private async refresh(): Promise<void> {
    this.lastFetch = this.deps.now();
    let fresh: ReadonlyMap<string, readonly StorageStat[]>;
    try {
      fresh = await this.deps.fetch();
    } catch {
      return; // no tracker answered: decide on what is known
    }
    for (const [tracker, list] of fresh) this.lists.set(tracker, list);
    for (const list of this.lists.values()) {
      for (const s of list) {
        if (isIP(s.ip) !== 0 || s.ip === '') continue;
        const addrs = await this.deps.resolve(s.ip).catch(() => [] as string[]);
        this.names.set(s.ip, addrs.map(plainAddress));
      }
    }
  }
}
