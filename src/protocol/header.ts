import { FdfsError, Status } from '../common/index.js';
import { HEADER_SIZE } from './constants.js';

export interface Header {
  /** Body length; a bigint on the wire, a safe number here (checked on decode). */
  readonly length: number;
  readonly cmd: number;
  readonly status: number;
}

export function encodeHeader(length: number | bigint, cmd: number, status = 0): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_SIZE);
  buf.writeBigInt64BE(BigInt(length), 0);
  buf.writeUInt8(cmd, 8);
  buf.writeUInt8(status, 9);
  return buf;
}

/** A negative or unsafe length is a protocol violation: the peer is dropped, as FastDFS does. */
export function decodeHeader(buf: Buffer, peer?: string): Header {
  const raw = buf.readBigInt64BE(0);
  if (raw < 0n || raw > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new FdfsError(Status.EINVAL, `invalid packet length ${raw}`, peer ? { peer } : {});
  }
  return { length: Number(raw), cmd: buf.readUInt8(8), status: buf.readUInt8(9) };
}

/** One write for header and small body: old Java/py clients read the header with a single read. */
export function encodePacket(cmd: number, body: Buffer | undefined, status = 0): Buffer {
  const len = body?.length ?? 0;
  const head = encodeHeader(len, cmd, status);
  return body && len > 0 ? Buffer.concat([head, body], HEADER_SIZE + len) : head;
}
