/**
 * Storage → tracker commands a stock FastDFS storage sends beside join and beat (fact sheet §7.1):
 * its own address (60), id (70), group (109) and status (71, 59), diffs of its group view (85) and
 * its sync source after a restart (79). Ours use none of them, but a stock storage exits or loops
 * without them.
 */
import {
  BodyWriter,
  Cmd,
  decodeGetMyIp,
  encodeSyncSource,
  FdfsError,
  GROUP_NAME_LEN,
  MAX_IP_PORT_SIZE,
  parseIpPort,
  STORAGE_BRIEF_SIZE,
  Status,
  StorageStatus,
  storageStatusName,
  writeBrief,
} from '../protocol/index.js';
import { MAX_SERVERS_EACH_GROUP } from './cluster.js';
import { badLength, type CommandHandler, groupField, joined, textField } from './context.js';

/**
 * 60: the address the storage reached us from, which it takes as its own (with storage ids, the
 * addresses storage_ids.conf lists for it). Needs no join: a stock storage asks it first.
 */
const getMyIp: CommandHandler = async (ctx, conn, body, log) => {
  const req = decodeGetMyIp(body);
  if (ctx.storageIds) {
    const e = ctx.storageIds.find(req.group, conn.peerIp, req.port);
    if (e) return Buffer.from(e.hosts.join(','), 'latin1');
    log.warn('get my ip: address not in storage_ids.conf', { group: req.group, port: req.port });
  }
  return Buffer.from(conn.peerIp, 'latin1');
};

/** Group str[16] + "ip:port" (70, 71): upstream's bounds and parse. */
function groupAndAddress(body: Buffer, what: string): { group: string; ip: string; port: number } {
  if (body.length <= GROUP_NAME_LEN || body.length > GROUP_NAME_LEN + MAX_IP_PORT_SIZE) {
    throw badLength(what, body.length, `${GROUP_NAME_LEN + 1}..${GROUP_NAME_LEN + MAX_IP_PORT_SIZE}`);
  }
  const a = parseIpPort(textField(body.subarray(GROUP_NAME_LEN)));
  if (!a) throw new FdfsError(Status.EINVAL, `${what}: invalid ip and port`);
  return { group: groupField(body), ...a };
}

/** 70: the id of the storage at ip:port — its storage_ids.conf id, or the ip itself without ids. */
const getServerId: CommandHandler = async (ctx, _conn, body) => {
  const q = groupAndAddress(body, 'get storage id');
  if (!ctx.config.useStorageId) return Buffer.from(q.ip, 'latin1');
  const e = ctx.storageIds?.find(q.group, q.ip, q.port);
  if (!e) throw new FdfsError(Status.ENOENT, `no storage id for ${q.group} ${q.ip}:${q.port}`);
  return Buffer.from(e.id, 'latin1');
};

/** 71: the brief (status, port, id, ip) of the storage at ip:port. */
const getStorageStatus: CommandHandler = async (ctx, _conn, body) => {
  const q = groupAndAddress(body, 'get storage status');
  const g = ctx.cluster.group(q.group);
  if (!g) throw new FdfsError(Status.ENOENT, `group ${q.group} not found`);
  const s = g.sorted().find((n) => n.ip === q.ip && n.port === q.port);
  if (!s) throw new FdfsError(Status.ENOENT, `storage ${q.ip}:${q.port} not found in ${q.group}`);
  return writeBrief(new BodyWriter(STORAGE_BRIEF_SIZE), {
    status: s.status,
    port: s.port,
    id: s.id,
    ip: s.ip,
  }).buf;
};

/** 109: the group of the storage at [ip +] port int32, from storage_ids.conf. */
const getGroupName: CommandHandler = async (ctx, conn, body) => {
  if (!ctx.storageIds) throw new FdfsError(Status.EOPNOTSUPP, 'use_storage_id is off: group unknown');
  if (body.length < 4) throw badLength('get group name', body.length, '≥ 4');
  const ipLen = body.length - 4;
  if (ipLen >= 16) throw new FdfsError(Status.ENAMETOOLONG, `get group name: ip of ${ipLen} bytes`);
  const ip = ipLen === 0 ? conn.peerIp : textField(body.subarray(0, ipLen));
  const port = body.readInt32BE(ipLen);
  const e = ctx.storageIds.entries.find((x) => x.hosts.includes(ip) && (x.port === port || x.port === 0));
  if (!e) throw new FdfsError(Status.ENOENT, `no group for storage ${ip}:${port}`);
  return new BodyWriter(GROUP_NAME_LEN).fixed(e.group, GROUP_NAME_LEN).buf;
};

/**
 * 85: briefs of storages whose status the storage sees differently from the leader. The leader
 * ignores them (as upstream does); a follower is told its own view by its storages' joins and
 * reports, so it ignores them too.
 */
const replicaChange: CommandHandler = async (_ctx, conn, body, log) => {
  joined(conn, 'replica change');
  const n = body.length / STORAGE_BRIEF_SIZE;
  if (body.length === 0 || !Number.isInteger(n)) {
    throw badLength('replica change', body.length, `a positive multiple of ${STORAGE_BRIEF_SIZE}`);
  }
  if (n > MAX_SERVERS_EACH_GROUP) throw new FdfsError(Status.EINVAL, `replica change of ${n} storages`);
  log.debug('replica change ignored', { storages: n });
  return undefined;
};

const AVAILABLE: ReadonlySet<number> = new Set([
  StorageStatus.OFFLINE,
  StorageStatus.ONLINE,
  StorageStatus.ACTIVE,
]);

/**
 * 59: a storage whose status here differs from the leader's asks for the leader's. Available
 * statuses stay as they are; ONLINE/ACTIVE come in as OFFLINE (the next beat activates it).
 */
const changeStatus: CommandHandler = async (ctx, conn, body, log) => {
  const s = joined(conn, 'change status');
  if (body.length !== 1) throw badLength('change status', body.length, '1');
  const { node } = ctx.cluster.reporting(s.group, s.id);
  const old = node.status;
  let next = body[0] as number;
  if (old === next || (AVAILABLE.has(old) && AVAILABLE.has(next))) return undefined;
  if (next === StorageStatus.ONLINE || next === StorageStatus.ACTIVE) next = StorageStatus.OFFLINE;
  node.status = next;
  log.info('storage status changed on its request', {
    group: s.group,
    storage: s.id,
    from: storageStatusName(old),
    to: storageStatusName(next),
  });
  await ctx.persister.saveNow();
  return undefined;
};

/** 79: a restarted newcomer asks which source it copies from; empty when none. */
const syncDestQuery: CommandHandler = async (ctx, conn, body) => {
  const s = joined(conn, 'sync dest query');
  if (body.length !== 0) throw badLength('sync dest query', body.length, '0');
  const { node } = ctx.cluster.reporting(s.group, s.id);
  return node.syncSrcId === ''
    ? undefined
    : encodeSyncSource({ srcId: node.syncSrcId, until: node.syncUntilTimestamp });
};

/**
 * 77: the storage change log since this storage last read it (IP changes). We keep none, so the
 * answer is empty, as upstream's when nothing changed. A link that never joined names itself
 * (group str[16] + id str[16]).
 */
const changelogRequest: CommandHandler = async (ctx, conn, body) => {
  if (conn.storage) {
    if (body.length !== 0) throw badLength('changelog request', body.length, '0');
    return undefined;
  }
  if (body.length !== GROUP_NAME_LEN + 16) throw badLength('changelog request', body.length, '32');
  const group = groupField(body);
  const id = textField(body.subarray(GROUP_NAME_LEN));
  if (!ctx.cluster.group(group)) throw new FdfsError(Status.ENOENT, `group ${group} not found`);
  if (!ctx.cluster.storage(group, id))
    throw new FdfsError(Status.ENOENT, `storage ${id} not found in ${group}`);
  return undefined;
};

export const clusterHandlers: ReadonlyMap<number, CommandHandler> = new Map([
  [Cmd.STORAGE_GET_MY_IP, getMyIp],
  [Cmd.STORAGE_GET_SERVER_ID, getServerId],
  [Cmd.STORAGE_GET_STATUS, getStorageStatus],
  [Cmd.STORAGE_GET_GROUP_NAME, getGroupName],
  [Cmd.STORAGE_REPLICA_CHG, replicaChange],
  [Cmd.STORAGE_CHANGE_STATUS, changeStatus],
  [Cmd.STORAGE_SYNC_DEST_QUERY, syncDestQuery],
  [Cmd.STORAGE_CHANGELOG_REQ, changelogRequest],
]);
