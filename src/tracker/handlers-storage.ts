/** Storage → tracker: join (81), beat (83), disk usage (84), sync report (89). */
import {
  BodyReader,
  Cmd,
  decodeDiskUsage,
  decodeJoin,
  decodeSyncReport,
  encodeJoinReply,
  FdfsError,
  JOIN_ADVERTISE_PREFIX,
  JOIN_FIXED_SIZE,
  readCounters,
  STAT_BUFF_SIZE,
  STORAGE_ID_SIZE,
  Status,
  storageStatusName,
} from '../protocol/index.js';
import { changeLogFor } from './change-log.js';
import { badLength, type CommandHandler, joined, type TrackerContext } from './context.js';

/** FDFS_MAX_TRACKERS and FDFS_MAX_MULTI_IP_PORT_SIZE (2 × 46 + 8): bounds of the tracker lines. */
const MAX_TRACKERS = 16;
const MAX_TRACKER_LINE = 100;

/** An advertised address is handed to clients in 15-byte IP fields: an IPv4 address or a short name. */
const ADVERTISE_RE = /^[A-Za-z0-9.-]{1,15}$/;

/** The address clients and peers are sent to: the advertised one, else the connection's. */
function addressOf(lines: readonly string[], peerIp: string): string {
  const line = lines.find((l) => l.startsWith(JOIN_ADVERTISE_PREFIX));
  if (line === undefined) return peerIp;
  const addr = line.slice(JOIN_ADVERTISE_PREFIX.length).trim();
  if (!ADVERTISE_RE.test(addr))
    throw new FdfsError(Status.EINVAL, `storage join: bad advertised address "${addr}"`);
  return addr;
}

/**
 * The storage's id. Without storage ids it is its address, as FastDFS. With them it is the id
 * the storage sends (trust_storage_server_id, FastDFS' default), which must be listed for this
 * group, or else the id listed for its address and port.
 */
function storageIdOf(
  ctx: TrackerContext,
  group: string,
  sent: string,
  ip: string,
  peerIp: string,
  port: number,
): string {
  if (!ctx.config.useStorageId) return ip;
  const ids = ctx.storageIds;
  if (sent !== '') {
    const e = ids?.byId(sent);
    if (!e) throw new FdfsError(Status.ENOENT, `storage id ${sent} is not in storage_ids.conf`);
    if (e.group !== group) {
      throw new FdfsError(Status.EINVAL, `storage id ${sent} belongs to group ${e.group}, not ${group}`);
    }
    return e.id;
  }
  const e = ids?.find(group, ip, port) ?? ids?.find(group, peerIp, port);
  if (!e) throw new FdfsError(Status.ENOENT, `no storage id for ${group} ${ip}:${port} in storage_ids.conf`);
  return e.id;
}

const join: CommandHandler = async (ctx, conn, body, log) => {
  if (body.length < JOIN_FIXED_SIZE) throw badLength('storage join', body.length, `≥ ${JOIN_FIXED_SIZE}`);
  const trackerCount = body.readBigInt64BE(JOIN_FIXED_SIZE - 8);
  if (trackerCount <= 0n || trackerCount > BigInt(MAX_TRACKERS)) {
    throw new FdfsError(Status.EINVAL, `storage join: invalid tracker_count ${trackerCount}`);
  }
  const count = Number(trackerCount);
  if (body.length > JOIN_FIXED_SIZE + count * MAX_TRACKER_LINE) {
    throw badLength('storage join', body.length, `≤ ${JOIN_FIXED_SIZE + count * MAX_TRACKER_LINE}`);
  }
  const lines = body.subarray(JOIN_FIXED_SIZE).toString('latin1').split('\n').length - 1;
  if (lines < count) {
    throw new FdfsError(Status.EINVAL, `storage join: ${lines} tracker lines, tracker_count ${count}`);
  }
  const j = decodeJoin(body);
  const ip = addressOf(j.trackers, conn.peerIp);
  const id = storageIdOf(ctx, j.group, j.storageId, ip, conn.peerIp, j.storagePort);
  const { group, node, inserted } = ctx.cluster.join({
    group: j.group,
    id,
    ip,
    port: j.storagePort,
    storePathCount: j.storePathCount,
    subdirCountPerPath: j.subdirCountPerPath,
    uploadPriority: j.uploadPriority,
    joinTime: j.joinTime,
    upTime: j.upTime,
    version: j.version,
    initFlag: j.initFlag,
    status: j.status,
  });
  ctx.links.bind(conn, group.name, node.id);
  // The trackers the storage lists are the cluster's (upstream builds its list the same way); the
  // addresses it reached us at are ours, so we can tell which entry we are.
  const rel = ctx.relationship;
  if (conn.localIp) rel.localIps.add(conn.localIp);
  if (j.currentTrackerIp) rel.localIps.add(j.currentTrackerIp);
  rel.addTrackers(j.trackers);
  log.info('storage joined', {
    group: group.name,
    storage: node.id,
    ip: node.ip,
    port: node.port,
    status: storageStatusName(node.status),
    initFlag: j.initFlag,
    inserted,
  });
  await ctx.persister.saveNow();
  return encodeJoinReply(node.status, node.syncSrcId);
};

const beat: CommandHandler = async (ctx, conn, body, log) => {
  const s = joined(conn, 'beat');
  if (body.length !== 0 && body.length !== STAT_BUFF_SIZE) {
    throw badLength('beat', body.length, `0 or ${STAT_BUFF_SIZE}`);
  }
  const counters = body.length > 0 ? readCounters(new BodyReader(body, 'beat')) : undefined;
  if (ctx.cluster.heartbeat(s.group, s.id, counters)) {
    log.info('storage active', { group: s.group, storage: s.id });
  }
  ctx.persister.saveSoon();
  return changeLogFor(ctx, conn, s.group);
};

const diskUsage: CommandHandler = async (ctx, conn, body, log) => {
  const s = joined(conn, 'disk usage report');
  const paths = ctx.cluster.group(s.group)?.storePathCount ?? 0;
  if (body.length !== paths * 16) throw badLength('disk usage report', body.length, String(paths * 16));
  if (ctx.cluster.reportDiskUsage(s.group, s.id, decodeDiskUsage(body))) {
    log.info('storage active', { group: s.group, storage: s.id });
  }
  ctx.persister.saveSoon();
  return changeLogFor(ctx, conn, s.group);
};

const SYNC_ROW = STORAGE_ID_SIZE + 4;

const syncReport: CommandHandler = async (ctx, conn, body) => {
  const s = joined(conn, 'sync report');
  if (body.length === 0 || body.length % SYNC_ROW !== 0) {
    throw badLength('sync report', body.length, `a positive multiple of ${SYNC_ROW}`);
  }
  ctx.cluster.reportSync(s.group, s.id, decodeSyncReport(body));
  ctx.persister.saveSoon();
  return changeLogFor(ctx, conn, s.group);
};

export const storageHandlers: ReadonlyMap<number, CommandHandler> = new Map([
  [Cmd.STORAGE_JOIN, join],
  [Cmd.STORAGE_BEAT, beat],
  [Cmd.STORAGE_REPORT_DISK_USAGE, diskUsage],
  [Cmd.STORAGE_SYNC_REPORT, syncReport],
]);
