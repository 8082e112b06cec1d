/**
 * Bodies FastDFS daemons exchange among themselves beyond join/beat (fact sheet §7.1): the
 * storage brief of change-log replies, GET_MY_IP, and the tracker-to-tracker leader commands
 * (tracker_proto.h, tracker_relationship.c). Sizes are those of V6.11+ (46-byte IP fields).
 */
import { FdfsError, Status } from '../common/index.js';
import { GROUP_NAME_LEN, STORAGE_ID_SIZE, VERSION_SIZE } from './constants.js';
import { BodyReader, BodyWriter } from './fields.js';

/** IP_ADDRESS_SIZE of libfastcommon ≥ 1.0.71 (FastDFS V6.11+), used in these server-to-server records. */
export const SERVER_IP_SIZE = 46;

/** FDFSStorageBrief: status 1 + port int32 + id str[16] + ip str[46]. */
export const STORAGE_BRIEF_SIZE = 1 + 4 + STORAGE_ID_SIZE + SERVER_IP_SIZE;

export interface StorageBrief {
  readonly status: number;
  readonly port: number;
  readonly id: string;
  readonly ip: string;
}

export const EMPTY_BRIEF: StorageBrief = { status: 0, port: 0, id: '', ip: '' };

export function writeBrief(w: BodyWriter, b: StorageBrief): BodyWriter {
  return w.uint8(b.status).int32(b.port).fixed(b.id, STORAGE_ID_SIZE).fixed(b.ip, SERVER_IP_SIZE);
}

export function readBrief(r: BodyReader): StorageBrief {
  return { status: r.uint8(), port: r.int32(), id: r.fixed(STORAGE_ID_SIZE), ip: r.fixed(SERVER_IP_SIZE) };
}

/** Flags byte at the head of a change-log reply (beat, disk and sync reports). */
export const ChangeFlag = {
  TRACKER_LEADER: 1,
  TRUNK_SERVER: 2,
  GROUP_SERVER: 4,
} as const;

export interface ChangeLog {
  /** The tracker leader as a brief (id and ip both the leader's ip), or an empty brief for none. */
  readonly leader?: StorageBrief;
  /** The group's trunk server, or an empty brief for none. */
  readonly trunk?: StorageBrief;
  /** Every storage of the group, sorted by id. */
  readonly servers?: readonly StorageBrief[];
}

/** The records follow the flags in this order: leader, trunk server, the group's servers. */
export function encodeChangeLog(c: ChangeLog): Buffer {
  const count = (c.leader ? 1 : 0) + (c.trunk ? 1 : 0) + (c.servers?.length ?? 0);
  const flags =
    (c.leader ? ChangeFlag.TRACKER_LEADER : 0) |
    (c.trunk ? ChangeFlag.TRUNK_SERVER : 0) |
    (c.servers ? ChangeFlag.GROUP_SERVER : 0);
  const w = new BodyWriter(1 + count * STORAGE_BRIEF_SIZE).uint8(flags);
  if (c.leader) writeBrief(w, c.leader);
  if (c.trunk) writeBrief(w, c.trunk);
  for (const s of c.servers ?? []) writeBrief(w, s);
  return w.buf;
}

/** An empty body (a follower tracker or an error-free no-op) reads as no changes. */
export function decodeChangeLog(body: Buffer): ChangeLog {
  if (body.length === 0) return {};
  if ((body.length - 1) % STORAGE_BRIEF_SIZE !== 0) {
    throw new FdfsError(Status.EINVAL, `change-log reply of ${body.length} bytes`);
  }
  const r = new BodyReader(body, 'change-log reply');
  const flags = r.uint8();
  const out: { leader?: StorageBrief; trunk?: StorageBrief; servers?: StorageBrief[] } = {};
  if (flags & ChangeFlag.TRACKER_LEADER) out.leader = readBrief(r);
  if (flags & ChangeFlag.TRUNK_SERVER) out.trunk = readBrief(r);
  if (flags & ChangeFlag.GROUP_SERVER) {
    const servers: StorageBrief[] = [];
    while (r.remaining >= STORAGE_BRIEF_SIZE) servers.push(readBrief(r));
    out.servers = servers;
  }
  return out;
}

/** FDFSGetMyIPReqBody (cmd 60): group str[17] + the storage's port int32. */
export const GET_MY_IP_SIZE = GROUP_NAME_LEN + 1 + 4;

export function encodeGetMyIp(group: string, port: number): Buffer {
  return new BodyWriter(GET_MY_IP_SIZE).fixed(group, GROUP_NAME_LEN + 1).int32(port).buf;
}

export function decodeGetMyIp(body: Buffer): { group: string; port: number } {
  if (body.length !== GET_MY_IP_SIZE) {
    throw new FdfsError(Status.EINVAL, `get my ip: body of ${body.length} bytes, expected ${GET_MY_IP_SIZE}`);
  }
  const r = new BodyReader(body, 'get my ip');
  return { group: r.fixed(GROUP_NAME_LEN + 1), port: r.int32() };
}

/** Cmd 64 reply: if_leader 1 + running_time int64 + restart_interval int64 (seconds). */
export interface TrackerRunningStatus {
  readonly ifLeader: boolean;
  readonly runningTime: number;
  readonly restartInterval: number;
}

export const TRACKER_STATUS_SIZE = 17;

export function encodeTrackerStatus(s: TrackerRunningStatus): Buffer {
  return new BodyWriter(TRACKER_STATUS_SIZE)
    .uint8(s.ifLeader ? 1 : 0)
    .int64(s.runningTime)
    .int64(s.restartInterval).buf;
}

export function decodeTrackerStatus(body: Buffer): TrackerRunningStatus {
  if (body.length !== TRACKER_STATUS_SIZE) {
    throw new FdfsError(
      Status.EINVAL,
      `tracker status of ${body.length} bytes, expected ${TRACKER_STATUS_SIZE}`,
    );
  }
  const r = new BodyReader(body, 'tracker status');
  return { ifLeader: r.uint8() !== 0, runningTime: r.int64(), restartInterval: r.int64() };
}

/** TrackerJoinLeaderBody (cmd 58): up_time int64 + version str[8] + server_port int64. */
export const JOIN_LEADER_SIZE = 8 + VERSION_SIZE + 8;

export function encodeJoinLeader(upTime: number, version: string, port: number): Buffer {
  return new BodyWriter(JOIN_LEADER_SIZE).int64(upTime).fixed(version, VERSION_SIZE).int64(port).buf;
}

export function decodeJoinLeader(body: Buffer): { upTime: number; version: string; port: number } {
  if (body.length !== JOIN_LEADER_SIZE) {
    throw new FdfsError(
      Status.EINVAL,
      `join leader: body of ${body.length} bytes, expected ${JOIN_LEADER_SIZE}`,
    );
  }
  const r = new BodyReader(body, 'join leader');
  return { upTime: r.int64(), version: r.fixed(VERSION_SIZE), port: r.int64() };
}

/** TrackerPingLeaderBody (cmd 65): connection alloc, current and max counts, int32 each. */
export const PING_LEADER_SIZE = 12;

export function encodePingLeader(alloc: number, current: number, max: number): Buffer {
  return new BodyWriter(PING_LEADER_SIZE).int32(alloc).int32(current).int32(max).buf;
}

/** Ping reply: per group, group str[16] + trunk server id str[16] (only when trunk servers changed). */
export const PING_LEADER_ROW = GROUP_NAME_LEN + STORAGE_ID_SIZE;

export function encodePingLeaderReply(rows: readonly { group: string; trunkId: string }[]): Buffer {
  const w = new BodyWriter(rows.length * PING_LEADER_ROW);
  for (const row of rows) w.fixed(row.group, GROUP_NAME_LEN).fixed(row.trunkId, STORAGE_ID_SIZE);
  return w.buf;
}

export function decodePingLeaderReply(body: Buffer): { group: string; trunkId: string }[] {
  if (body.length % PING_LEADER_ROW !== 0) {
    throw new FdfsError(Status.EINVAL, `ping leader reply of ${body.length} bytes`);
  }
  const r = new BodyReader(body, 'ping leader reply');
  const out: { group: string; trunkId: string }[] = [];
  while (r.remaining > 0) out.push({ group: r.fixed(GROUP_NAME_LEN), trunkId: r.fixed(STORAGE_ID_SIZE) });
  return out;
}

/** FDFS_MAX_IP_PORT_SIZE: the "ip:port" text of NOTIFY/COMMIT_NEXT_LEADER bodies. */
export const MAX_IP_PORT_SIZE = SERVER_IP_SIZE + 6;

/** "ip:port" (IPv6 in brackets), as FastDFS' format_ip_port writes and parseAddress reads it. */
export function parseIpPort(text: string): { ip: string; port: number } | undefined {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(text.trim());
  if (!m?.[1] || !m[2]) return undefined;
  const port = Number(m[2]);
  return port > 0 && port <= 65535 ? { ip: m[1], port } : undefined;
}

export function formatIpPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}
