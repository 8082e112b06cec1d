/**
 * Tracker queries with failover. Each request starts at the next tracker (round robin); a tracker
 * that cannot be reached, or drops the link, passes the request on to the next one. A status
 * byte is an answer and is returned as is, never asked again elsewhere.
 */
import { FdfsError, type Logger, Status, silentLogger, toStatus } from '../common/index.js';
import type { HostPort, StatLayout } from '../config/types.js';
import { isValidGroupName, parseFileId } from '../fileid/index.js';
import {
  BodyWriter,
  Cmd,
  decodeFetch,
  decodeGroupStats,
  decodeStorageStats,
  decodeStoreAll,
  decodeStoreOne,
  decodeSyncStatus,
  encodeGroupAndName,
  type FetchTarget,
  GROUP_NAME_LEN,
  GROUP_STAT_SIZE,
  type GroupStat,
  STORAGE_ID_SIZE,
  STORAGE_STAT_SIZE,
  STORAGE_STAT_SIZE_IP6,
  type StorageStat,
  type StoreTarget,
  type SyncStatusRow,
} from '../protocol/index.js';
import { isStatusReply } from './connection.js';
import { withContext } from './errors.js';
import type { ConnectionPool } from './pool.js';

export interface TrackerClientOptions {
  readonly trackers: readonly HostPort[];
  readonly pool: ConnectionPool;
  /** Stat record layout to assume when the body length fits both (fact sheet §3.4). Default 'current'. */
  readonly statLayout?: StatLayout;
  readonly logger?: Logger;
}

interface Ask {
  readonly action: string;
  readonly notFound: string;
  readonly fileId?: string;
}

const NO_STORAGE = 'no such group or no available storage';
const EMPTY = Buffer.alloc(0);

export class TrackerClient {
  private readonly trackers: readonly HostPort[];
  private readonly pool: ConnectionPool;
  private readonly statLayout: StatLayout;
  private readonly log: Logger;
  private turn = 0;

  constructor(opts: TrackerClientOptions) {
    if (opts.trackers.length === 0) throw new FdfsError(Status.EINVAL, 'no tracker_server configured');
    this.trackers = opts.trackers;
    this.pool = opts.pool;
    this.statLayout = opts.statLayout ?? 'current';
    this.log = opts.logger ?? silentLogger;
  }

  /** 101 / 104: where to upload (a storage and its store path index). */
  queryStore(group?: string, signal?: AbortSignal): Promise<StoreTarget> {
    const [cmd, body] =
      group === undefined
        ? [Cmd.QUERY_STORE_WITHOUT_GROUP_ONE, EMPTY]
        : [Cmd.QUERY_STORE_WITH_GROUP_ONE, group16(group)];
    return this.ask(storeAsk('query store', group), cmd, body, decodeStoreOne, signal);
  }

  /** 106 / 107: every writable storage of the chosen group. */
  queryStoreAll(group?: string): Promise<StoreTarget[]> {
    const [cmd, body] =
      group === undefined
        ? [Cmd.QUERY_STORE_WITHOUT_GROUP_ALL, EMPTY]
        : [Cmd.QUERY_STORE_WITH_GROUP_ALL, group16(group)];
    return this.ask(storeAsk('query store all', group), cmd, body, decodeStoreAll);
  }

  /** 102: one storage that can serve a download. */
  queryFetch(fileId: string, signal?: AbortSignal): Promise<FetchTarget> {
    return this.fileQuery('query fetch', Cmd.QUERY_FETCH_ONE, fileId, first, signal);
  }

  /** 105: every storage that should hold the file (classic layout: all share the first port). */
  queryFetchAll(fileId: string, signal?: AbortSignal): Promise<FetchTarget[]> {
    return this.fileQuery('query fetch all', Cmd.QUERY_FETCH_ALL, fileId, (l) => l, signal);
  }

  /** 103: the storage to send a change to (the source server when it is writable). */
  queryUpdate(fileId: string, signal?: AbortSignal): Promise<FetchTarget> {
    return this.fileQuery('query update', Cmd.QUERY_UPDATE, fileId, first, signal);
  }

  /** 91: every group, sorted by name. */
  listGroups(signal?: AbortSignal): Promise<GroupStat[]> {
    return this.ask(
      { action: 'list groups', notFound: 'no groups' },
      Cmd.SERVER_LIST_ALL_GROUPS,
      EMPTY,
      (b) => decodeGroupStats(b, this.layoutOf(b.length, GROUP_STAT_SIZE)),
      signal,
    );
  }

  /** 90: one group's record. */
  listOneGroup(group: string): Promise<GroupStat> {
    const what = { action: `list group ${group}`, notFound: `no group ${group}` };
    return this.ask(what, Cmd.SERVER_LIST_ONE_GROUP, group16(group), (b) => {
      const [stat, ...extra] = decodeGroupStats(b, this.layoutOf(b.length, GROUP_STAT_SIZE));
      if (!stat || extra.length > 0)
        throw new FdfsError(Status.EINVAL, `group stat reply of ${b.length} bytes`);
      return stat;
    });
  }

  /** 92: the storages of a group, or the one with this id / IP. */
  listStorages(group: string, storageId?: string, signal?: AbortSignal): Promise<StorageStat[]> {
    const action = `list storages of ${group}${storageId ? ` (${storageId})` : ''}`;
    const body = groupAndId(group, storageId ?? '');
    return this.ask(
      { action, notFound: 'no such group or storage' },
      Cmd.SERVER_LIST_STORAGE,
      body,
      (b) => decodeStorageStats(b, this.layoutOf(b.length, STORAGE_STAT_SIZE, STORAGE_STAT_SIZE_IP6)),
      signal,
    );
  }

  /**
   * 121 (fastdfs-ts): for each storage of the group, up to when it holds each peer's files.
   * undefined when the tracker does not know the command: FastDFS answers EINVAL to it, and the
   * body we send cannot be otherwise wrong, so a monitor keeps working against stock trackers.
   */
  async syncStatus(group: string, signal?: AbortSignal): Promise<SyncStatusRow[] | undefined> {
    const what = { action: `sync status of ${group}`, notFound: `no group ${group}` };
    try {
      return await this.ask(what, Cmd.TRACKER_SYNC_STATUS, group16(group), decodeSyncStatus, signal);
    } catch (err) {
      if (isStatusReply(err) && toStatus(err) === Status.EINVAL) return undefined;
      throw err;
    }
  }

  /**
   * 95: the tracker leader as "ip:port", as this tracker knows it. undefined while there is none
   * (ENOENT) or when the tracker does not know the command, so a monitor works with any tracker.
   */
  async leader(signal?: AbortSignal): Promise<string | undefined> {
    try {
      const what = { action: 'get tracker leader', notFound: 'no tracker leader' };
      return await this.ask(what, Cmd.SERVER_GET_LEADER, EMPTY, (b) => b.toString('latin1'), signal);
    } catch (err) {
      if (isStatusReply(err)) return undefined;
      throw err;
    }
  }

  /**
   * 93, sent to every tracker as the C client does: each keeps its own copy of the cluster.
   * Unreachable trackers are skipped; ENOENT and EALREADY from some trackers are tolerated.
   */
  async deleteStorage(group: string, storageId: string): Promise<void> {
    if (storageId.length === 0) throw new FdfsError(Status.EINVAL, 'delete storage: empty storage id');
    const body = groupAndId(group, storageId);
    const action = `delete storage ${storageId} from ${group}`;
    let done = false;
    let notFound: FdfsError | undefined;
    let unreachable: FdfsError | undefined;
    for (const t of this.trackers) {
      const where = `on tracker ${t.host}:${t.port}`;
      try {
        await this.pool.use(t, (c) => c.call(Cmd.SERVER_DELETE_STORAGE, body), { retryStale: true });
        done = true;
      } catch (err) {
        const e = withContext(err, { action, where, notFound: 'no such storage' });
        if (!isStatusReply(err)) {
          this.log.warn('tracker unreachable', { tracker: `${t.host}:${t.port}`, action, err });
          unreachable ??= e;
        } else if (e.status === Status.EALREADY) done = true;
        else if (e.status === Status.ENOENT) notFound ??= e;
        else throw e;
      }
    }
    if (!done) throw notFound ?? unreachable ?? new FdfsError(Status.EIO, `${action}: no tracker answered`);
  }

  /** 75: the tracker's `key=value` parameters (what the nginx module reads). */
  parameters(): Promise<Record<string, string>> {
    return this.ask(
      { action: 'get parameters', notFound: 'not found' },
      Cmd.STORAGE_PARAMETER_REQ,
      EMPTY,
      (b) => {
        const out: Record<string, string> = {};
        for (const line of b.toString('utf8').split('\n')) {
          const eq = line.indexOf('=');
          if (eq > 0) out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
        }
        return out;
      },
    );
  }

  private fileQuery<T>(
    action: string,
    cmd: number,
    fileId: string,
    pick: (l: FetchTarget[]) => T,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const { group, remoteFilename } = parseFileId(fileId);
    const what = { action: `${action} ${fileId}`, notFound: NO_STORAGE, fileId };
    const body = encodeGroupAndName(group, remoteFilename);
    return this.ask(what, cmd, body, (b) => pick(decodeFetch(b)), signal);
  }

  /**
   * Sends one request to the trackers in turn until one answers (a status reply is an answer),
   * then decodes the reply; a reply that does not decode is that tracker's answer too.
   */
  private async ask<T>(
    what: Ask,
    cmd: number,
    body: Buffer,
    decode: (reply: Buffer) => T,
    signal?: AbortSignal,
  ): Promise<T> {
    const n = this.trackers.length;
    const start = this.turn;
    this.turn = (this.turn + 1) % n;
    const failures: string[] = [];
    let last: unknown;
    for (let i = 0; i < n; i++) {
      const t = this.trackers[(start + i) % n] as HostPort;
      const where = `on tracker ${t.host}:${t.port}`;
      let reply: Buffer;
      try {
        reply = await this.pool.use(
          t,
          (c) => c.call(cmd, body),
          signal ? { retryStale: true, signal } : { retryStale: true },
        );
      } catch (err) {
        // An aborted call is not a tracker failure: no next tracker, no warning.
        if (isStatusReply(err) || signal?.aborted) throw withContext(err, { ...what, where });
        last = err;
        failures.push(`${t.host}:${t.port}`);
        this.log.warn('tracker unreachable, trying the next one', {
          tracker: `${t.host}:${t.port}`,
          action: what.action,
          err,
        });
        continue;
      }
      try {
        return decode(reply);
      } catch (err) {
        throw withContext(err, { ...what, where, peer: `${t.host}:${t.port}` });
      }
    }
    throw withContext(last, { ...what, where: `on any tracker (tried ${failures.join(', ')})` });
  }

  /** The record layout a body length proves; the configured one when both (or neither) fit. */
  private layoutOf(length: number, sizes: Record<StatLayout, number>, currentIp6?: number): StatLayout {
    const current = length % sizes.current === 0 || (currentIp6 !== undefined && length % currentIp6 === 0);
    const classic = length % sizes.classic === 0;
    if (current !== classic) return current ? 'current' : 'classic';
    return this.statLayout;
  }
}

function storeAsk(action: string, group: string | undefined): Ask {
  return group === undefined
    ? { action, notFound: 'no writable storage' }
    : { action: `${action} in ${group}`, notFound: `no group ${group} or no writable storage in it` };
}

function checkGroup(group: string): void {
  if (!isValidGroupName(group)) {
    throw new FdfsError(
      Status.EINVAL,
      `invalid group name ${JSON.stringify(group)}: need 1..16 chars [A-Za-z0-9]`,
    );
  }
}

function group16(group: string): Buffer {
  checkGroup(group);
  return new BodyWriter(GROUP_NAME_LEN).fixed(group, GROUP_NAME_LEN).buf;
}

/** group str[16] + an optional storage id or IP of at most 15 bytes (no NUL). */
function groupAndId(group: string, id: string): Buffer {
  checkGroup(group);
  const idBytes = Buffer.from(id, 'utf8');
  if (idBytes.length >= STORAGE_ID_SIZE)
    throw new FdfsError(Status.EINVAL, `storage id ${JSON.stringify(id)} is too long`);
  return new BodyWriter(GROUP_NAME_LEN + idBytes.length).fixed(group, GROUP_NAME_LEN).bytes(idBytes).buf;
}

function first(list: FetchTarget[]): FetchTarget {
  const t = list[0];
  if (!t) throw new FdfsError(Status.ENOENT, 'tracker returned no storage');
  return t;
}
