/** Bodies of storage commands (fact sheet §4): the fixed parts before any file content. */
import { FdfsError, Status } from '../common/index.js';
import {
  FILE_EXT_NAME_MAX_LEN,
  FILE_PREFIX_MAX_LEN,
  GROUP_NAME_LEN,
  IP_ADDRESS_SIZE,
  REMOTE_FILENAME_MAX_LEN,
} from './constants.js';
import { BodyReader, BodyWriter } from './fields.js';

export const UPLOAD_PREFIX_SIZE = 1 + 8 + FILE_EXT_NAME_MAX_LEN; // 15

export interface UploadPrefix {
  readonly storePathIndex: number;
  readonly size: number;
  readonly ext: string;
}

export function encodeUploadPrefix(p: UploadPrefix): Buffer {
  return new BodyWriter(UPLOAD_PREFIX_SIZE)
    .uint8(p.storePathIndex)
    .int64(p.size)
    .fixed(p.ext, FILE_EXT_NAME_MAX_LEN).buf;
}

export function decodeUploadPrefix(b: Buffer): UploadPrefix {
  const r = new BodyReader(b, 'upload');
  return { storePathIndex: r.uint8(), size: r.length('file size'), ext: r.fixed(FILE_EXT_NAME_MAX_LEN) };
}

export const SLAVE_FIXED_SIZE = 8 + 8 + FILE_PREFIX_MAX_LEN + FILE_EXT_NAME_MAX_LEN; // 38

export interface SlavePrefix {
  readonly master: string;
  readonly size: number;
  readonly prefix: string;
  readonly ext: string;
}

export function encodeSlavePrefix(p: SlavePrefix): Buffer {
  const m = Buffer.from(p.master, 'utf8');
  return new BodyWriter(SLAVE_FIXED_SIZE + m.length)
    .int64(m.length)
    .int64(p.size)
    .fixed(p.prefix, FILE_PREFIX_MAX_LEN)
    .fixed(p.ext, FILE_EXT_NAME_MAX_LEN)
    .bytes(m).buf;
}

/** Reads the 38 fixed bytes; the caller then reads masterLen more for the name. */
export function decodeSlaveFixed(b: Buffer): {
  masterLen: number;
  size: number;
  prefix: string;
  ext: string;
} {
  const r = new BodyReader(b, 'upload slave');
  const masterLen = r.length('master filename length');
  if (masterLen < 11 || masterLen > REMOTE_FILENAME_MAX_LEN) {
    throw new FdfsError(Status.EINVAL, `upload slave: master filename length ${masterLen} out of range`);
  }
  return {
    masterLen,
    size: r.length('file size'),
    prefix: r.fixed(FILE_PREFIX_MAX_LEN),
    ext: r.fixed(FILE_EXT_NAME_MAX_LEN),
  };
}

/** Reply to uploads and regenerate: group str[16] + remote filename. */
export function encodeUploadReply(group: string, remote: string): Buffer {
  const n = Buffer.from(remote, 'utf8');
  return new BodyWriter(GROUP_NAME_LEN + n.length).fixed(group, GROUP_NAME_LEN).bytes(n).buf;
}

export function decodeUploadReply(b: Buffer): { group: string; remote: string } {
  if (b.length <= GROUP_NAME_LEN)
    throw new FdfsError(Status.EINVAL, `upload reply of ${b.length} bytes is too short`);
  const r = new BodyReader(b, 'upload reply');
  return { group: r.fixed(GROUP_NAME_LEN), remote: r.rest().toString('utf8') };
}

export interface SetMetadataRequest {
  readonly group: string;
  readonly remote: string;
  readonly flag: number;
  readonly meta: Buffer;
}

export function encodeSetMetadata(q: SetMetadataRequest): Buffer {
  const n = Buffer.from(q.remote, 'utf8');
  return new BodyWriter(8 + 8 + 1 + GROUP_NAME_LEN + n.length + q.meta.length)
    .int64(n.length)
    .int64(q.meta.length)
    .uint8(q.flag)
    .fixed(q.group, GROUP_NAME_LEN)
    .bytes(n)
    .bytes(q.meta).buf;
}

export function decodeSetMetadata(b: Buffer): SetMetadataRequest {
  const r = new BodyReader(b, 'set metadata');
  const nameLen = r.length('filename length');
  const metaLen = r.length('metadata length');
  const flag = r.uint8();
  const group = r.fixed(GROUP_NAME_LEN);
  if (nameLen < 1 || nameLen > REMOTE_FILENAME_MAX_LEN || nameLen + metaLen !== r.remaining) {
    throw new FdfsError(
      Status.EINVAL,
      `set metadata: lengths ${nameLen}+${metaLen} do not match body of ${b.length}`,
    );
  }
  return { flag, group, remote: r.string(nameLen), meta: r.bytes(metaLen) };
}

export interface DownloadRequest {
  readonly offset: number;
  readonly length: number;
  readonly group: string;
  readonly remote: string;
}

export function encodeDownload(q: DownloadRequest): Buffer {
  const n = Buffer.from(q.remote, 'utf8');
  return new BodyWriter(16 + GROUP_NAME_LEN + n.length)
    .int64(q.offset)
    .int64(q.length)
    .fixed(q.group, GROUP_NAME_LEN)
    .bytes(n).buf;
}

export function decodeDownload(b: Buffer): DownloadRequest {
  const r = new BodyReader(b, 'download');
  return {
    offset: r.length('offset'),
    length: r.length('length'),
    group: r.fixed(GROUP_NAME_LEN),
    remote: r.rest().toString('utf8'),
  };
}

/** Append (24): filename_len, content_len, filename; Modify (34) adds an offset before content_len. */
export function encodeAppendPrefix(remote: string, size: number, offset?: number): Buffer {
  const n = Buffer.from(remote, 'utf8');
  const w = new BodyWriter((offset === undefined ? 16 : 24) + n.length).int64(n.length);
  if (offset !== undefined) w.int64(offset);
  return w.int64(size).bytes(n).buf;
}

export function encodeTruncate(remote: string, newSize: number): Buffer {
  const n = Buffer.from(remote, 'utf8');
  return new BodyWriter(16 + n.length).int64(n.length).int64(newSize).bytes(n).buf;
}

export interface FileInfoReply {
  readonly size: number;
  readonly timestamp: number;
  readonly crc32: number;
  readonly sourceIp: string;
}

export const FILE_INFO_REPLY_SIZE = 24 + IP_ADDRESS_SIZE; // 40

export function encodeFileInfo(f: FileInfoReply): Buffer {
  return new BodyWriter(FILE_INFO_REPLY_SIZE)
    .int64(f.size)
    .int64(f.timestamp)
    .int64(f.crc32)
    .fixed(f.sourceIp, IP_ADDRESS_SIZE).buf;
}

export function decodeFileInfo(b: Buffer): FileInfoReply {
  if (b.length !== 40 && b.length !== 70)
    throw new FdfsError(Status.EINVAL, `file info reply of ${b.length} bytes`);
  const r = new BodyReader(b, 'file info reply');
  return { size: r.int64(), timestamp: r.int64(), crc32: r.int64(), sourceIp: r.fixed(b.length - 24) };
}
