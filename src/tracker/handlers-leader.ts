/**
 * Tracker → tracker commands of FastDFS' leader election (tracker_relationship.c): status (64),
 * next-leader notice and commit (66, 67), re-select (68, from storages), a follower's join and
 * pings (58, 65), the leader's address for monitors (95) and our data files for an empty tracker
 * (61/63/62, sys-files.ts). Logic in relationship.ts.
 */

import {
  Cmd,
  decodeJoinLeader,
  encodePingLeaderReply,
  encodeTrackerStatus,
  FdfsError,
  MAX_IP_PORT_SIZE,
  PING_LEADER_SIZE,
  Status,
} from '../protocol/index.js';
import { badLength, type CommandHandler } from './context.js';
import { renderSysFiles } from './sys-files.js';
import { trunkServerOf } from './trunk.js';

/** 64: ENOENT until a group is known, as upstream (a fresh tracker has nothing to offer). */
const getStatus: CommandHandler = async (ctx, _conn, body) => {
  if (body.length !== 0) throw badLength('tracker status', body.length, '0');
  if (ctx.cluster.groups.size === 0) throw new FdfsError(Status.ENOENT, 'tracker status: no groups yet');
  return encodeTrackerStatus(ctx.relationship.status());
};

function ipPortBody(body: Buffer, what: string): Buffer {
  if (body.length > MAX_IP_PORT_SIZE) throw badLength(what, body.length, `≤ ${MAX_IP_PORT_SIZE}`);
  return body;
}

const notifyNext: CommandHandler = async (ctx, _conn, body) => {
  ctx.relationship.notifyNext(ipPortBody(body, 'notify next leader'));
  return undefined;
};

const commitNext: CommandHandler = async (ctx, _conn, body) => {
  ctx.relationship.commitNext(ipPortBody(body, 'commit next leader'));
  return undefined;
};

const reselect: CommandHandler = async (ctx, _conn, body) => {
  if (body.length !== 0) throw badLength('reselect leader', body.length, '0');
  ctx.relationship.reselect();
  return undefined;
};

/** 58: a follower joins the leader once per connection, naming the port it listens on. */
const joinLeader: CommandHandler = async (ctx, conn, body, log) => {
  const j = decodeJoinLeader(body);
  ctx.relationship.requireLeader('join leader');
  if (conn.peerTracker) throw new FdfsError(Status.EEXIST, `tracker ${conn.peerTracker} already joined`);
  const t = ctx.relationship.tracker(conn.peerIp, j.port);
  if (!t) throw new FdfsError(Status.ENOENT, `tracker ${conn.peerIp}:${j.port} is not in the tracker list`);
  conn.peerTracker = `${conn.peerIp}:${j.port}`;
  log.info('tracker joined the leader', { tracker: conn.peerTracker, version: j.version });
  return undefined;
};

/** 65: answered with each group's trunk server on a link's first ping and whenever they change. */
const pingLeader: CommandHandler = async (ctx, conn, body) => {
  if (body.length !== PING_LEADER_SIZE) throw badLength('ping leader', body.length, String(PING_LEADER_SIZE));
  ctx.relationship.requireLeader('ping leader');
  if (!conn.peerTracker) throw new FdfsError(Status.EINVAL, 'ping leader before joining it');
  // Each group's trunk server as this leader chooses it; the follower names the same one.
  const rows = ctx.cluster
    .sortedGroups()
    .map((g) => ({ group: g.name, trunkId: trunkServerOf(g, ctx.config.trunk.useTrunkFile)?.id ?? '' }));
  const sig = rows.map((r) => `${r.group}=${r.trunkId}`).join(',');
  if (conn.sent?.trunk === sig) return undefined;
  conn.sent = { leader: conn.sent?.leader ?? '', group: conn.sent?.group ?? '', trunk: sig };
  return encodePingLeaderReply(rows);
};

/** 61: a tracker that starts empty fetches our data files; they are fixed now, served by 63. */
const sysFilesStart: CommandHandler = async (ctx, conn, body) => {
  if (body.length !== 0) throw badLength('get sys files start', body.length, '0');
  if (ctx.cluster.groups.size === 0) throw new FdfsError(Status.ENOENT, 'no groups: no data files to give');
  conn.sysFiles = renderSysFiles(ctx.cluster, ctx.config.useStorageId);
  return undefined;
};

const sysFilesEnd: CommandHandler = async (_ctx, conn, body) => {
  if (body.length !== 0) throw badLength('get sys files end', body.length, '0');
  delete conn.sysFiles;
  return undefined;
};

/** Upstream sends at most its package size less header, size field and a spare byte a piece. */
const SYS_FILE_PIECE = 64 * 1024;

/** 63: file index (1 byte) + offset int64 → file size int64 + the bytes from offset. */
const sysFileOne: CommandHandler = async (ctx, conn, body) => {
  if (body.length !== 9) throw badLength('get one sys file', body.length, '9');
  const index = body[0] as number;
  const offset = body.readBigInt64BE(1);
  const files = conn.sysFiles ?? renderSysFiles(ctx.cluster, ctx.config.useStorageId);
  const file = files[index];
  if (!file) throw new FdfsError(Status.EINVAL, `get one sys file: invalid index ${index}`);
  if (offset < 0n || offset > BigInt(file.length)) {
    throw new FdfsError(Status.EINVAL, `get one sys file: offset ${offset} outside 0..${file.length}`);
  }
  const from = Number(offset);
  const piece = file.subarray(from, from + SYS_FILE_PIECE);
  const out = Buffer.allocUnsafe(8 + piece.length);
  out.writeBigInt64BE(BigInt(file.length), 0);
  piece.copy(out, 8);
  return out;
};

/** 95: the leader as "ip:port" text; ENOENT while there is none. */
const getLeader: CommandHandler = async (ctx, _conn, body) => {
  if (body.length !== 0) throw badLength('get leader', body.length, '0');
  const text = ctx.relationship.leaderText();
  if (!text) throw new FdfsError(Status.ENOENT, 'no tracker leader');
  return Buffer.from(text, 'latin1');
};

export const leaderHandlers: ReadonlyMap<number, CommandHandler> = new Map([
  [Cmd.TRACKER_GET_STATUS, getStatus],
  [Cmd.TRACKER_NOTIFY_NEXT_LEADER, notifyNext],
  [Cmd.TRACKER_COMMIT_NEXT_LEADER, commitNext],
  [Cmd.TRACKER_NOTIFY_RESELECT_LEADER, reselect],
  [Cmd.TRACKER_JOIN_LEADER, joinLeader],
  [Cmd.TRACKER_PING_LEADER, pingLeader],
  [Cmd.SERVER_GET_LEADER, getLeader],
  [Cmd.TRACKER_GET_SYS_FILES_START, sysFilesStart],
  [Cmd.TRACKER_GET_SYS_FILES_END, sysFilesEnd],
  [Cmd.TRACKER_GET_ONE_SYS_FILE, sysFileOne],
]);
