/**
 * Two of our storages in one trunk group, in process, behind one tracker (trunk keys of
 * TRUNK_TRACKER_KEYS plus any given): which is the trunk server, which the peer, and a way to
 * start a storage again on its folder. Ready once both are writable and the peer knows the
 * trunk server.
 */
import { FdfsClient } from '../../src/client/index.js';
import { silentLogger } from '../../src/common/index.js';
import { defaultClientConfig, defaultStorageConfig, defaultTrackerConfig } from '../../src/config/index.js';
import { type StorageNode, startStorage } from '../../src/storage/index.js';
import { startTracker, type TrackerHandle } from '../../src/tracker/index.js';
import { eventually, tempDir } from './node-process.js';
import { TRUNK_TRACKER_KEYS } from './trunk-store.js';

const map = (o: Record<string, string>) => new Map(Object.entries(o).map(([k, v]) => [k, [v]]));

export interface GroupMember {
  readonly host: string;
  readonly node: StorageNode;
  readonly base: string;
}

export interface TrunkGroup {
  readonly tracker: TrackerHandle;
  readonly client: FdfsClient;
  /** The storages running, by host. */
  readonly nodes: Map<string, { node: StorageNode; base: string }>;
  /** Starts a storage on `host` (again on `base` and `port` when given). */
  start(host: string, base?: string, port?: number): Promise<StorageNode>;
  /** The storage that has the trunk server role now. */
  server(): GroupMember;
  /** The other one. */
  peer(): GroupMember;
  close(): Promise<void>;
}

export async function startTrunkGroup(
  hosts: readonly [string, string],
  trackerKeys: Record<string, string> = {},
): Promise<TrunkGroup> {
  const tracker = await startTracker(
    defaultTrackerConfig(
      map({
        base_path: await tempDir('fdfs-trunk-group-t-'),
        port: '0',
        bind_addr: '127.0.0.1',
        reserved_storage_space: '0',
        check_active_interval: '2',
        ...TRUNK_TRACKER_KEYS,
        ...trackerKeys,
      }),
    ).config,
    { logger: silentLogger },
  );
  const client = new FdfsClient(
    defaultClientConfig(map({ tracker_server: `127.0.0.1:${tracker.address.port}` })).config,
  );
  const nodes = new Map<string, { node: StorageNode; base: string }>();
  const start = async (host: string, base?: string, port = 0): Promise<StorageNode> => {
    const dir = base ?? (await tempDir(`fdfs-trunk-group-${host}-`));
    const node = await startStorage(
      defaultStorageConfig(
        map({
          base_path: dir,
          port: String(port),
          bind_addr: host,
          tracker_server: `127.0.0.1:${tracker.address.port}`,
          heart_beat_interval: '100ms',
          stat_report_interval: '500ms',
          sync_wait_msec: '20',
          subdir_count_per_path: '4',
          reserved_storage_space: '0',
        }),
      ).config,
      { logger: silentLogger },
    );
    nodes.set(host, { node, base: dir });
    return node;
  };
  const server = (): GroupMember => {
    for (const [host, n] of nodes) if (n.node.trunks.isServer) return { host, ...n };
    throw new Error('no trunk server');
  };
  const peer = (): GroupMember => {
    const s = server();
    for (const [host, n] of nodes) if (host !== s.host) return { host, ...n };
    throw new Error('no peer');
  };
  await Promise.all(hosts.map((h) => start(h)));
  await eventually(async () => {
    const [g] = await client.listGroups();
    if (!g || g.writableCount < 2) throw new Error('not both writable');
    server();
    if (!peer().node.trunks.canPack(10)) throw new Error('peer does not know the trunk server yet');
  }, 30_000);
  return {
    tracker,
    client,
    nodes,
    start,
    server,
    peer,
    async close() {
      await client.close();
      for (const { node } of nodes.values()) await node.close().catch(() => {});
      await tracker.close();
    },
  };
}
