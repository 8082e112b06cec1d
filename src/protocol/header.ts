import { FdfsError, Status } from '../common/index.js';
import { HEADER_SIZE } from './constants.js';

export interface Header {
  /** Body length; a bigint on the wire, a safe number here (checked on decode). */
  readonly length: number;
  readonly cmd: number;
  readonly status: number;
}

const TWO_32 = 2 ** 32;

/** Every header in and out goes through these: two 32-bit halves, no BigInt for a safe length. */
export function encodeHeader(length: number | bigint, cmd: number, status = 0): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_SIZE);
  if (typeof length === 'number' && length >= 0 && Number.isSafeInteger(length)) {
    buf.writeUInt32BE(Math.floor(length / TWO_32), 0);
    buf.writeUInt32BE(length % TWO_32, 4);
  } else buf.writeBigInt64BE(BigInt(length), 0);
  buf.writeUInt8(cmd, 8);
  buf.writeUInt8(status, 9);
  return buf;
}

/** A negative or unsafe length is a protocol violation: the peer is dropped, as FastDFS does. */
export function decodeHeader(buf: Buffer, peer?: string): Header {
  const high = buf.readUInt32BE(0);
  // 0x1fffff is the high half of Number.MAX_SAFE_INTEGER; a set sign bit is a negative length.
  if (high > 0x1fffff) {
    const raw = buf.readBigInt64BE(0);
    throw new FdfsError(Status.EINVAL, `invalid packet length ${raw}`, peer ? { peer } : {});
  }
  return { length: high * TWO_32 + buf.readUInt32BE(4), cmd: buf.readUInt8(8), status: buf.readUInt8(9) };
}

/** One write for header and small body: old Java/py clients read the header with a single read. */
export function encodePacket(cmd: number, body: Buffer | undefined, status = 0): Buffer {
  const len = body?.length ?? 0;
  const head = encodeHeader(len, cmd, status);
  return body && len > 0 ? Buffer.concat([head, body], HEADER_SIZE + len) : head;
}
