/**
 * The tracker request a pusher makes itself: whom a newcomer copies from (86), on a short
 * connection of its own so it never interleaves with the reporter's beats. (Status reports, 76,
 * need a joined link and go with the beats; see SyncManager.)
 */
import { Connection } from '../../client/index.js';
import type { Logger } from '../../common/index.js';
import type { HostPort, StorageConfig } from '../../config/types.js';
import {
  Cmd,
  decodeStorageStats,
  decodeSyncSource,
  encodeSyncSrcQuery,
  FdfsError,
  fixedString,
  GROUP_NAME_LEN,
  STORAGE_STAT_SIZE,
  Status,
  type StorageStat,
  type SyncSource,
} from '../../protocol/index.js';

/** Cmd 92 on `conn`: the group's storages as that tracker lists them (none when it has no such group). */
export async function listGroup(conn: Connection, group: string): Promise<StorageStat[]> {
  let body: Buffer;
  try {
    body = await conn.call(Cmd.SERVER_LIST_STORAGE, fixedString(group, GROUP_NAME_LEN));
  } catch (err) {
    if (err instanceof FdfsError && err.status === Status.ENOENT) return [];
    throw err;
  }
  if (body.length === 0) return [];
  return decodeStorageStats(body, body.length % STORAGE_STAT_SIZE.current === 0 ? 'current' : 'classic');
}

export class TrackerOps {
  constructor(
    private readonly config: StorageConfig,
    private readonly logger: Logger,
  ) {}

  private async with<T>(t: HostPort, fn: (c: Connection) => Promise<T>): Promise<T> {
    const { config } = this;
    const conn = await Connection.open({
      host: t.host,
      port: t.port,
      connectTimeout: config.connectTimeout,
      networkTimeout: config.networkTimeout,
      ...(config.bindAddr && config.bindAddr !== '0.0.0.0' ? { localAddress: config.bindAddr } : {}),
    });
    try {
      return await fn(conn);
    } finally {
      conn.close();
    }
  }

  /** Cmd 92 to every tracker at once: the lists of those that answered; throws if none did. */
  async groupLists(): Promise<Map<string, StorageStat[]>> {
    const out = new Map<string, StorageStat[]>();
    const results = await Promise.allSettled(
      this.config.trackerServers.map(async (t) => {
        out.set(`${t.host}:${t.port}`, await this.with(t, (c) => listGroup(c, this.config.groupName)));
      }),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (out.size === 0 && failed) throw failed.reason;
    return out;
  }

  /**
   * 86: the first source any tracker names for `destId` (trackers that have not heard of the
   * assignment yet answer empty). undefined when no tracker knows of one; throws if none answered.
   */
  async syncSource(destId: string): Promise<SyncSource | undefined> {
    let answered = false;
    let last: unknown;
    for (const t of this.config.trackerServers) {
      try {
        const reply = await this.with(t, (c) =>
          c.call(Cmd.STORAGE_SYNC_SRC_REQ, encodeSyncSrcQuery(this.config.groupName, destId)),
        );
        answered = true;
        const src = decodeSyncSource(reply);
        if (src) return src;
      } catch (err) {
        last = err;
        this.logger.debug('sync src query failed', { tracker: `${t.host}:${t.port}`, dest: destId, err });
      }
    }
    if (!answered) throw last;
    return undefined;
  }
}
