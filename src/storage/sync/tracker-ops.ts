/**
 * The tracker request a pusher makes itself: whom a newcomer copies from (86), on a short
 * connection of its own so it never interleaves with the reporter's beats. (Status reports, 76,
 * need a joined link and go with the beats; see SyncManager.)
 */
import { Connection } from '../../client/index.js';
import type { Logger } from '../../common/index.js';
import type { HostPort, StorageConfig } from '../../config/types.js';
import { Cmd, decodeSyncSource, encodeSyncSrcQuery, type SyncSource } from '../../protocol/index.js';

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
