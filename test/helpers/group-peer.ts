/**
 * A storage the trackers know without running one: a connection from `host` (a 127.0.0.x
 * address) that joins `group`, so tests can push sync commands as a legitimate member from that
 * address (with storage ids, as `layout.storageId`). It stays INIT (no beats), so real storages
 * never push to it.
 */
import { Connection } from '../../src/client/index.js';
import { Cmd, encodeJoin, PROTOCOL_VERSION } from '../../src/protocol/index.js';

export interface GroupPeer {
  /** Its storage id (its address: no storage ids here). */
  readonly id: string;
  close(): Promise<void>;
}

export async function joinGroupPeer(
  trackers: readonly { host: string; port: number }[],
  group: string,
  host: string,
  layout: { storePathCount?: number; subdirCountPerPath?: number; storageId?: string } = {},
): Promise<GroupPeer> {
  const conns: Connection[] = [];
  const now = Math.floor(Date.now() / 1000);
  for (const t of trackers) {
    const conn = await Connection.open({
      host: t.host,
      port: t.port,
      localAddress: host,
      connectTimeout: 2000,
      networkTimeout: 60_000,
    });
    conns.push(conn);
    await conn.call(
      Cmd.STORAGE_JOIN,
      encodeJoin({
        group,
        storagePort: 1,
        storePathCount: layout.storePathCount ?? 1,
        subdirCountPerPath: layout.subdirCountPerPath ?? 4,
        uploadPriority: 10,
        joinTime: now,
        upTime: now,
        version: PROTOCOL_VERSION,
        initFlag: 1,
        status: 0,
        storageId: layout.storageId ?? '',
        currentTrackerIp: t.host,
        trackers: [`${t.host}:${t.port}`],
      }),
    );
  }
  return {
    id: layout.storageId ?? host,
    async close() {
      for (const c of conns) c.close();
    },
  };
}
