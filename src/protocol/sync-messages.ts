/**
 * Storage ⇄ storage sync bodies (fact sheet §7.2) and the storage → tracker sync-state bodies
 * (§7.1: 76, 86, 87, 88). Fixed parts are decoded here; file content follows on the wire and is
 * streamed by the caller, never held in a Buffer.
 */
import { FdfsError, Status } from '../common/index.js';
import { GROUP_NAME_LEN, IP_ADDRESS_SIZE, STORAGE_ID_SIZE } from './constants.js';
import { BodyReader, BodyWriter } from './fields.js';

/** A binlog file name is `Mxx/HH/LL/<name>` (+ `-m`): at most 127 bytes + 2. */
export const SYNC_NAME_MAX = 130;

function checkName(len: number, what: string): number {
  if (len < 1 || len > SYNC_NAME_MAX) {
    throw new FdfsError(Status.EINVAL, `${what}: filename length ${len} outside 1..${SYNC_NAME_MAX}`);
  }
  return len;
}

/** 16 SYNC_CREATE_FILE / 18 SYNC_UPDATE_FILE: name_len, file_size, ts int32, group[16]; name; content. */
export const SYNC_FILE_FIXED = 8 + 8 + 4 + GROUP_NAME_LEN;

export interface SyncFileHead {
  readonly nameLen: number;
  readonly fileSize: number;
  readonly timestamp: number;
  readonly group: string;
}

export function encodeSyncFile(group: string, name: string, fileSize: number, timestamp: number): Buffer {
  const n = Buffer.from(name, 'utf8');
  return new BodyWriter(SYNC_FILE_FIXED + n.length)
    .int64(n.length)
    .int64(fileSize)
    .int32(timestamp)
    .fixed(group, GROUP_NAME_LEN)
    .bytes(n).buf;
}

export function decodeSyncFileHead(fixed: Buffer): SyncFileHead {
  const r = new BodyReader(fixed, 'sync file');
  const nameLen = checkName(r.length('filename length'), 'sync file');
  return { nameLen, fileSize: r.length('file size'), timestamp: r.int32(), group: r.fixed(GROUP_NAME_LEN) };
}

/**
 * 25 SYNC_APPEND_FILE / 35 SYNC_MODIFY_FILE: name_len, offset, length, ts, group; name; content.
 * 37 SYNC_TRUNCATE_FILE: name_len, old_size, new_size, ts, group; name (no content).
 */
export const SYNC_RANGE_FIXED = 8 + 8 + 8 + 4 + GROUP_NAME_LEN;

export interface SyncRangeHead {
  readonly nameLen: number;
  /** Offset (append/modify) or old size (truncate). */
  readonly a: number;
  /** Length (append/modify) or new size (truncate). */
  readonly b: number;
  readonly timestamp: number;
  readonly group: string;
}

export function encodeSyncRange(
  group: string,
  name: string,
  a: number,
  b: number,
  timestamp: number,
): Buffer {
  const n = Buffer.from(name, 'utf8');
  return new BodyWriter(SYNC_RANGE_FIXED + n.length)
    .int64(n.length)
    .int64(a)
    .int64(b)
    .int32(timestamp)
    .fixed(group, GROUP_NAME_LEN)
    .bytes(n).buf;
}

export function decodeSyncRangeHead(fixed: Buffer): SyncRangeHead {
  const r = new BodyReader(fixed, 'sync range');
  const nameLen = checkName(r.length('filename length'), 'sync range');
  return {
    nameLen,
    a: r.length('offset'),
    b: r.length('length'),
    timestamp: r.int32(),
    group: r.fixed(GROUP_NAME_LEN),
  };
}

/** 17 SYNC_DELETE_FILE: ts int32, group[16], filename. */
export interface SyncDelete {
  readonly timestamp: number;
  readonly group: string;
  readonly name: string;
}

export function encodeSyncDelete(group: string, name: string, timestamp: number): Buffer {
  const n = Buffer.from(name, 'utf8');
  return new BodyWriter(4 + GROUP_NAME_LEN + n.length).int32(timestamp).fixed(group, GROUP_NAME_LEN).bytes(n)
    .buf;
}

export function decodeSyncDelete(body: Buffer): SyncDelete {
  const r = new BodyReader(body, 'sync delete');
  const timestamp = r.int32();
  const group = r.fixed(GROUP_NAME_LEN);
  checkName(r.remaining, 'sync delete');
  return { timestamp, group, name: r.rest().toString('utf8') };
}

/** 40 SYNC_RENAME_FILE / 19 SYNC_CREATE_LINK: dest_len, src_len, ts, group, dest, src. */
export interface SyncPair {
  readonly timestamp: number;
  readonly group: string;
  readonly dest: string;
  readonly src: string;
}

export function encodeSyncPair(group: string, dest: string, src: string, timestamp: number): Buffer {
  const d = Buffer.from(dest, 'utf8');
  const s = Buffer.from(src, 'utf8');
  return new BodyWriter(8 + 8 + 4 + GROUP_NAME_LEN + d.length + s.length)
    .int64(d.length)
    .int64(s.length)
    .int32(timestamp)
    .fixed(group, GROUP_NAME_LEN)
    .bytes(d)
    .bytes(s).buf;
}

export function decodeSyncPair(body: Buffer): SyncPair {
  const r = new BodyReader(body, 'sync rename');
  const destLen = checkName(r.length('dest length'), 'sync rename');
  const srcLen = checkName(r.length('src length'), 'sync rename');
  const timestamp = r.int32();
  const group = r.fixed(GROUP_NAME_LEN);
  if (r.remaining !== destLen + srcLen) {
    throw new FdfsError(
      Status.EINVAL,
      `sync rename: ${r.remaining} name bytes, expected ${destLen + srcLen}`,
    );
  }
  return { timestamp, group, dest: r.string(destLen), src: r.string(srcLen) };
}

/** 9 REPORT_SERVER_ID: the sending storage's id, str[16]. */
export function encodeServerId(id: string): Buffer {
  return new BodyWriter(STORAGE_ID_SIZE).fixed(id, STORAGE_ID_SIZE).buf;
}

export function decodeServerId(body: Buffer): string {
  if (body.length !== STORAGE_ID_SIZE) {
    throw new FdfsError(Status.EINVAL, `report server id: body of ${body.length} bytes, expected 16`);
  }
  return new BodyReader(body, 'report server id').fixed(STORAGE_ID_SIZE);
}

/** 120 SYNC_WATERMARK (fastdfs-ts): unix seconds, int64. */
export function encodeWatermark(ts: number): Buffer {
  return new BodyWriter(8).int64(ts).buf;
}

export function decodeWatermark(body: Buffer): number {
  if (body.length !== 8) throw new FdfsError(Status.EINVAL, `sync watermark: body of ${body.length} bytes`);
  return new BodyReader(body, 'sync watermark').length('timestamp');
}

/** Reply of 86 / 87 and body of 88: the storage a newcomer copies old data from, and up to when. */
export interface SyncSource {
  readonly srcId: string;
  /** Unix seconds: records up to here are old data, the source forwards its replicas too. */
  readonly until: number;
}

export const SYNC_SOURCE_SIZE = STORAGE_ID_SIZE + 8;

export function encodeSyncSource(s: SyncSource | undefined): Buffer {
  if (!s) return Buffer.alloc(0);
  return new BodyWriter(SYNC_SOURCE_SIZE).fixed(s.srcId, STORAGE_ID_SIZE).int64(s.until).buf;
}

/** An empty body means "no source: nothing to copy". */
export function decodeSyncSource(body: Buffer): SyncSource | undefined {
  if (body.length === 0) return undefined;
  if (body.length !== SYNC_SOURCE_SIZE) {
    throw new FdfsError(Status.EINVAL, `sync source: body of ${body.length} bytes, expected 0 or 24`);
  }
  const r = new BodyReader(body, 'sync source');
  const srcId = r.fixed(STORAGE_ID_SIZE);
  const until = r.length('until timestamp');
  return srcId === '' ? undefined : { srcId, until };
}

/** 86 SYNC_SRC_REQ body: group[16] + dest storage id[16]. */
export function encodeSyncSrcQuery(group: string, destId: string): Buffer {
  return new BodyWriter(GROUP_NAME_LEN + STORAGE_ID_SIZE)
    .fixed(group, GROUP_NAME_LEN)
    .fixed(destId, STORAGE_ID_SIZE).buf;
}

export function decodeSyncSrcQuery(body: Buffer): { group: string; destId: string } {
  if (body.length !== GROUP_NAME_LEN + STORAGE_ID_SIZE) {
    throw new FdfsError(Status.EINVAL, `sync src query: body of ${body.length} bytes, expected 32`);
  }
  const r = new BodyReader(body, 'sync src query');
  return { group: r.fixed(GROUP_NAME_LEN), destId: r.fixed(STORAGE_ID_SIZE) };
}

/**
 * 76 REPORT_STATUS body: group[16] + a storage brief (status 1, port int32, id[16], ip[46]), the
 * 83 bytes of FastDFS V6.11+. fastdfs-ts before 2026-12 sent a 16-byte ip (53 bytes): still read.
 */
export interface StatusReport {
  readonly group: string;
  readonly status: number;
  readonly port: number;
  readonly id: string;
  readonly ip: string;
}

const REPORT_IP_SIZE = 46;
export const STATUS_REPORT_SIZE = GROUP_NAME_LEN + 1 + 4 + STORAGE_ID_SIZE + REPORT_IP_SIZE;
const OLD_STATUS_REPORT_SIZE = GROUP_NAME_LEN + 1 + 4 + STORAGE_ID_SIZE + IP_ADDRESS_SIZE;

export function encodeStatusReport(s: StatusReport): Buffer {
  return new BodyWriter(STATUS_REPORT_SIZE)
    .fixed(s.group, GROUP_NAME_LEN)
    .uint8(s.status)
    .int32(s.port)
    .fixed(s.id, STORAGE_ID_SIZE)
    .fixed(s.ip, REPORT_IP_SIZE).buf;
}

export function decodeStatusReport(body: Buffer): StatusReport {
  if (body.length !== STATUS_REPORT_SIZE && body.length !== OLD_STATUS_REPORT_SIZE) {
    throw new FdfsError(
      Status.EINVAL,
      `report status: body of ${body.length} bytes, expected ${STATUS_REPORT_SIZE} (or ${OLD_STATUS_REPORT_SIZE}, the older form)`,
    );
  }
  const r = new BodyReader(body, 'report status');
  return {
    group: r.fixed(GROUP_NAME_LEN),
    status: r.uint8(),
    port: r.int32(),
    id: r.fixed(STORAGE_ID_SIZE),
    ip: r.fixed(body.length - (GROUP_NAME_LEN + 1 + 4 + STORAGE_ID_SIZE)),
  };
}

/** 69 FETCH_STORAGE_IDS reply: total int32, returned int32, then `id group ip[:port]\n` lines. */
export function encodeStorageIdsReply(total: number, lines: readonly string[]): Buffer {
  const text = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
  return new BodyWriter(8 + text.length).int32(total).int32(lines.length).bytes(text).buf;
}

export function decodeStorageIdsReply(body: Buffer): { total: number; lines: string[] } {
  const r = new BodyReader(body, 'storage ids');
  const total = r.int32();
  const returned = r.int32();
  const lines = r
    .rest()
    .toString('utf8')
    .split('\n')
    .filter((l) => l.length > 0);
  if (returned !== lines.length) {
    throw new FdfsError(Status.EINVAL, `storage ids: ${lines.length} lines, header says ${returned}`);
  }
  return { total, lines };
}

/**
 * fastdfs-ts extension of STORAGE_JOIN (81): after the tracker lines, a storage with an
 * advertise_addr adds the line `advertise=<addr>`. The join body has no field for the storage's
 * own address (FastDFS takes the connection's), but behind NAT or when binding one address and
 * serving another, clients and peers must be sent to the advertised one.
 */
export const JOIN_ADVERTISE_PREFIX = 'advertise=';
