/**
 * Where an upload goes (fact sheet §3.2; upstream `tracker_deal_service_query_storage`):
 * store_lookup picks the group, store_server the storage, store_path the path on it.
 * The round-robin cursors live on the model objects, as in FastDFS.
 */
import type { ReservedSpace } from '../config/types.js';
import { FdfsError, Status } from '../protocol/index.js';
import type { Cluster } from './cluster.js';
import type { StorageGroup } from './group.js';
import { groupHasSpace, pathHasSpace } from './space.js';
import type { PathUsage, StorageNode } from './storage-node.js';

export interface StorePolicy {
  readonly storeLookup: 0 | 1 | 2; // round robin, named group, most free space
  readonly storeGroup: string;
  readonly storeServer: 0 | 1 | 2; // round robin, first by id (= ip), lowest upload priority
  readonly storePath: 0 | 2; // round robin, most free space
  readonly reservedStorageSpace: ReservedSpace;
}

export interface StoreChoice {
  readonly group: StorageGroup;
  /** The chosen storage first; for the *_ALL commands every writable storage. */
  readonly servers: readonly StorageNode[];
  readonly storePathIndex: number;
}

function noent(msg: string): FdfsError {
  return new FdfsError(Status.ENOENT, msg);
}

/** A named group (cmd 104/107 or store_lookup = 1) must exist, have a writable storage and space. */
function namedGroup(cluster: Cluster, name: string, reserve: ReservedSpace): StorageGroup {
  const g = cluster.group(name);
  if (!g) throw noent(`group ${name} not found`);
  if (g.active().length === 0) throw noent(`group ${name} has no active storage`);
  if (!groupHasSpace(reserve, g.space())) {
    throw new FdfsError(Status.ENOSPC, `group ${name} reached its reserved space`);
  }
  return g;
}

/** store_lookup, or the group the request names. ENOENT without groups or writable storages, ENOSPC when all are full. */
export function selectStoreGroup(cluster: Cluster, policy: StorePolicy, named?: string): StorageGroup {
  const groups = cluster.sortedGroups();
  if (groups.length === 0) throw noent('no group joined yet');
  if (named !== undefined) return namedGroup(cluster, named, policy.reservedStorageSpace);
  if (policy.storeLookup === 1) return namedGroup(cluster, policy.storeGroup, policy.reservedStorageSpace);
  const writable = groups.filter((g) => g.active().length > 0);
  if (writable.length === 0) throw noent('no group has an active storage');
  const roomy = (g: StorageGroup) => groupHasSpace(policy.reservedStorageSpace, g.space());
  if (policy.storeLookup === 2) {
    let best: StorageGroup | undefined;
    for (const g of writable) if (roomy(g) && (!best || g.space().freeMb > best.space().freeMb)) best = g;
    if (!best) throw new FdfsError(Status.ENOSPC, 'every group reached its reserved space');
    return best;
  }
  const start = cluster.currentWriteGroup < groups.length ? cluster.currentWriteGroup : 0;
  for (let i = 0; i < groups.length; i++) {
    const idx = (start + i) % groups.length;
    const g = groups[idx];
    if (g && g.active().length > 0 && roomy(g)) {
      cluster.currentWriteGroup = (idx + 1) % groups.length;
      return g;
    }
  }
  throw new FdfsError(Status.ENOSPC, 'every group reached its reserved space');
}

/** The group's "store server" (upstream pStoreServer): lowest priority for store_server = 2, else the first. */
export function preferredStoreServer(
  group: StorageGroup,
  policy: Pick<StorePolicy, 'storeServer'>,
): StorageNode | undefined {
  const writable = group.active();
  if (policy.storeServer !== 2) return writable[0];
  let best: StorageNode | undefined;
  for (const s of writable) if (!best || s.uploadPriority < best.uploadPriority) best = s;
  return best;
}

/** store_server: round robin advances the group's cursor; 1 and 2 always answer the preferred server. */
export function selectStoreServer(
  group: StorageGroup,
  policy: Pick<StorePolicy, 'storeServer'>,
): StorageNode {
  const writable = group.active();
  if (writable.length === 0) throw noent(`group ${group.name} has no active storage`);
  if (policy.storeServer !== 0) return preferredStoreServer(group, policy) as StorageNode;
  if (writable.length === 1) return writable[0] as StorageNode;
  const idx = group.currentWriteServer < writable.length ? group.currentWriteServer : 0;
  group.currentWriteServer = idx + 1 >= writable.length ? 0 : idx + 1;
  return writable[idx] as StorageNode;
}

/** The path with the most free MB; ties keep `current` (upstream only moves on a strictly larger value). */
export function mostFreePath(paths: readonly PathUsage[], current: number): number {
  let best = current < paths.length ? current : 0;
  paths.forEach((p, i) => {
    const b = paths[best];
    if (b && p.freeMb > b.freeMb) best = i;
  });
  return best;
}

/**
 * store_path: the storage's current write path, moved on to the next one with space if it is
 * short; round robin then advances it for the next query (most-free keeps it: disk reports move it).
 */
export function selectStorePath(node: StorageNode, group: StorageGroup, policy: StorePolicy): number {
  const count = group.storePathCount;
  if (count <= 0) throw noent(`group ${group.name} has no store path`);
  const ok = (i: number) => pathHasSpace(policy.reservedStorageSpace, node.paths[i], count);
  let wp = node.currentWritePath < count ? node.currentWritePath : 0;
  if (!ok(wp)) {
    let found = -1;
    for (let k = 1; k < count && found < 0; k++) if (ok((wp + k) % count)) found = (wp + k) % count;
    if (found < 0) {
      throw new FdfsError(Status.ENOSPC, `storage ${node.id} has no path above the reserved space`);
    }
    wp = found;
    node.currentWritePath = wp;
  }
  if (policy.storePath === 0) node.currentWritePath = (wp + 1) % count;
  return wp;
}

/** Cmd 101/104 (one server) and 106/107 (all writable servers; the first one's path is answered). */
export function selectStore(
  cluster: Cluster,
  policy: StorePolicy,
  opts: { group?: string; all: boolean },
): StoreChoice {
  const group = selectStoreGroup(cluster, policy, opts.group);
  if (group.storePathCount <= 0) throw noent(`group ${group.name} has no store path`);
  if (opts.all) {
    const servers = group.active();
    const first = servers[0];
    if (!first) throw noent(`group ${group.name} has no active storage`);
    return { group, servers, storePathIndex: selectStorePath(first, group, policy) };
  }
  const server = selectStoreServer(group, policy);
  return { group, servers: [server], storePathIndex: selectStorePath(server, group, policy) };
}
