/** What every tracker command handler gets: the shared model and, per connection, who is talking. */
import type { Logger } from '../common/index.js';
import type { StorageIdList } from '../config/index.js';
import type { TrackerConfig } from '../config/types.js';
import { FdfsError, GROUP_NAME_LEN, Status } from '../protocol/index.js';
import type { Cluster } from './cluster.js';
import type { Relationship } from './relationship.js';
import type { StatePersister } from './state-store.js';

export interface TrackerContext {
  readonly config: TrackerConfig;
  readonly cluster: Cluster;
  readonly persister: StatePersister;
  readonly logger: Logger;
  readonly links: StorageLinks;
  /** storage_ids.conf, loaded at start when use_storage_id is on. */
  readonly storageIds?: StorageIdList;
  /** The cluster's trackers and which one leads (FastDFS' leader election). */
  readonly relationship: Relationship;
}

/** Per connection. A storage's tracker link is bound to it by a join; beats then name no one. */
export interface ConnectionState {
  /** The peer's address with any IPv4-mapped `::ffff:` prefix removed. */
  readonly peerIp: string;
  readonly log: Logger;
  /** conn.log's child per command, made on the command's first request (queries are hot). */
  cmdLogs?: Map<number, Logger>;
  storage?: { readonly group: string; readonly id: string };
  /** The connection's own address, which a joining storage reached this tracker at. */
  readonly localIp?: string;
  /** What this link's change-log replies last carried (leader, trunk, group servers). */
  sent?: { leader: string; trunk: string; group: string };
  /** A follower tracker that joined us as leader (cmd 58) on this connection. */
  peerTracker?: string;
  /** The data files a peer tracker is fetching (61 … 63 … 62), fixed at its 61. */
  sysFiles?: Buffer[];
}

/**
 * Upstream answers EACCES (TRACKER_CHECK_LOGINED) to a storage command on a connection that
 * never joined; the storage then reconnects and joins again.
 */
export function joined(conn: ConnectionState, what: string): { group: string; id: string } {
  if (!conn.storage) throw new FdfsError(Status.EACCES, `${what} from ${conn.peerIp} before any join`);
  return conn.storage;
}

/** Replies with a body, or with a header only (undefined). `log` names the peer and the command. */
export type CommandHandler = (
  ctx: TrackerContext,
  conn: ConnectionState,
  body: Buffer,
  log: Logger,
) => Promise<Buffer | undefined>;

/** A handler that answers without waiting for anything (a query of the model). */
export type SyncCommandHandler = (
  ctx: TrackerContext,
  conn: ConnectionState,
  body: Buffer,
  log: Logger,
) => Buffer | undefined;

export function badLength(what: string, got: number, expect: string): FdfsError {
  return new FdfsError(Status.EINVAL, `${what}: body of ${got} bytes, expected ${expect}`);
}

/** The str[16] group field at the start of a body, cut at the first NUL. */
export function groupField(body: Buffer): string {
  const raw = body.subarray(0, GROUP_NAME_LEN);
  const nul = raw.indexOf(0);
  return raw.toString('utf8', 0, nul < 0 ? raw.length : nul);
}

/** A NUL-terminated or NUL-padded text field (storage id or ip after the group). */
export function textField(buf: Buffer): string {
  const nul = buf.indexOf(0);
  return buf.toString('utf8', 0, nul < 0 ? buf.length : nul);
}

export function stripMappedPrefix(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice('::ffff:'.length) : ip;
}

/**
 * Which connection speaks for each storage. A storage that reconnects binds its new link; the
 * old link's close must then not mark it OFFLINE.
 */
export class StorageLinks {
  readonly #owners = new Map<string, ConnectionState>();

  bind(conn: ConnectionState, group: string, id: string): void {
    if (conn.storage) this.release(conn);
    conn.storage = { group, id };
    this.#owners.set(`${group}/${id}`, conn);
  }

  /** Forgets the connection's binding; true when it still owned its storage. */
  release(conn: ConnectionState): boolean {
    const s = conn.storage;
    if (!s) return false;
    const key = `${s.group}/${s.id}`;
    const owned = this.#owners.get(key) === conn;
    if (owned) this.#owners.delete(key);
    delete conn.storage;
    return owned;
  }
}
