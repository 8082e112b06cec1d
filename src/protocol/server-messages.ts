/** Storage → tracker bodies (fact sheet §7.1), in the V6.13+ layout. */
import { GROUP_NAME_LEN, STORAGE_ID_SIZE, VERSION_SIZE } from './constants.js';
import { BodyReader, BodyWriter } from './fields.js';

const JOIN_IP_SIZE = 46;
export const JOIN_FIXED_SIZE =
  GROUP_NAME_LEN + 1 + 6 * 8 + VERSION_SIZE + 1 + 1 + STORAGE_ID_SIZE + JOIN_IP_SIZE + 8;

export interface JoinRequest {
  readonly group: string;
  readonly storagePort: number;
  readonly storePathCount: number;
  readonly subdirCountPerPath: number;
  readonly uploadPriority: number;
  readonly joinTime: number;
  readonly upTime: number;
  readonly version: string;
  readonly initFlag: number;
  readonly status: number;
  readonly storageId: string;
  readonly currentTrackerIp: string;
  readonly trackers: readonly string[];
  /** Lines after the tracker lines (fastdfs-ts' `advertise=`), not counted in tracker_count. */
  readonly extraLines?: readonly string[];
}

export function encodeJoin(j: JoinRequest): Buffer {
  const lines = Buffer.from([...j.trackers, ...(j.extraLines ?? [])].map((t) => `${t}\n`).join(''), 'utf8');
  return new BodyWriter(JOIN_FIXED_SIZE + lines.length)
    .fixed(j.group, GROUP_NAME_LEN + 1)
    .int64(j.storagePort)
    .int64(j.storePathCount)
    .int64(j.subdirCountPerPath)
    .int64(j.uploadPriority)
    .int64(j.joinTime)
    .int64(j.upTime)
    .fixed(j.version, VERSION_SIZE)
    .uint8(j.initFlag)
    .uint8(j.status)
    .fixed(j.storageId, STORAGE_ID_SIZE)
    .fixed(j.currentTrackerIp, JOIN_IP_SIZE)
    .int64(j.trackers.length)
    .bytes(lines).buf;
}

export function decodeJoin(b: Buffer): JoinRequest {
  const r = new BodyReader(b, 'storage join');
  const j = {
    group: r.fixed(GROUP_NAME_LEN + 1),
    storagePort: r.length('storage port'),
    storePathCount: r.length('store path count'),
    subdirCountPerPath: r.length('subdir count'),
    uploadPriority: r.int64(),
    joinTime: r.int64(),
    upTime: r.int64(),
    version: r.fixed(VERSION_SIZE),
    initFlag: r.uint8(),
    status: r.uint8(),
    storageId: r.fixed(STORAGE_ID_SIZE),
    currentTrackerIp: r.fixed(JOIN_IP_SIZE),
  };
  r.int64(); // tracker_count: the lines below are authoritative
  const trackers = r
    .rest()
    .toString('utf8')
    .split('\n')
    .filter((l) => l.length > 0);
  return { ...j, trackers };
}

export function encodeJoinReply(status: number, srcId: string): Buffer {
  return new BodyWriter(1 + STORAGE_ID_SIZE).uint8(status).fixed(srcId, STORAGE_ID_SIZE).buf;
}

export function decodeJoinReply(b: Buffer): { status: number; srcId: string } {
  const r = new BodyReader(b, 'join reply');
  return { status: r.uint8(), srcId: r.fixed(STORAGE_ID_SIZE) };
}

export interface PathUsage {
  readonly totalMb: number;
  readonly freeMb: number;
}

export function encodeDiskUsage(paths: readonly PathUsage[]): Buffer {
  const w = new BodyWriter(paths.length * 16);
  for (const p of paths) w.int64(p.totalMb).int64(p.freeMb);
  return w.buf;
}

export function decodeDiskUsage(b: Buffer): PathUsage[] {
  const r = new BodyReader(b, 'disk usage');
  const out: PathUsage[] = [];
  while (r.remaining >= 16) out.push({ totalMb: r.int64(), freeMb: r.int64() });
  return out;
}

/** Sync report (89): per peer, storage id str[16] + last synced timestamp int32. */
export function encodeSyncReport(rows: readonly { id: string; timestamp: number }[]): Buffer {
  const w = new BodyWriter(rows.length * (STORAGE_ID_SIZE + 4));
  for (const row of rows) w.fixed(row.id, STORAGE_ID_SIZE).int32(row.timestamp);
  return w.buf;
}

export function decodeSyncReport(b: Buffer): { id: string; timestamp: number }[] {
  const r = new BodyReader(b, 'sync report');
  const out: { id: string; timestamp: number }[] = [];
  while (r.remaining >= STORAGE_ID_SIZE + 4) out.push({ id: r.fixed(STORAGE_ID_SIZE), timestamp: r.int32() });
  return out;
}
