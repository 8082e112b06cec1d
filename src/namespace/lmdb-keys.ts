/**
 * Binary keys for the lmdb store. LMDB compares keys with memcmp, so UTF-8 bytes give S3's byte
 * order for every script. A 0x00 byte separates a bucket name from its keys: bucket names never
 * hold it and it sorts below every other byte, so `a` < `a/b` < `ab` holds as it does for the keys
 * alone. (S3 keys cannot carry U+0000 either: XML 1.0 has no way to write it.)
 */
import { FdfsError, Status } from '../common/index.js';

/** S3's limit on a key's UTF-8 length; it also keeps every lmdb key under its 1,978-byte cap. */
export const MAX_KEY_BYTES = 1024;

const SEP = Buffer.from([0]);

export function utf8(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

export function checkKey(key: string): void {
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new FdfsError(Status.ENAMETOOLONG, `key longer than ${MAX_KEY_BYTES} bytes`, {
      detail: 'KeyTooLongError',
    });
  }
}

/** `<bucket>\0`: every object key of the bucket starts with it. */
export function bucketBase(bucket: string): Buffer {
  return Buffer.concat([utf8(bucket), SEP]);
}

export function objectKey(bucket: string, key: string): Buffer {
  return Buffer.concat([utf8(bucket), SEP, utf8(key)]);
}

/** `<bucket>\0<key>\0<uploadId>`: uploads listed by key, then by id. */
export function uploadKey(bucket: string, key: string, uploadId: string): Buffer {
  return Buffer.concat([utf8(bucket), SEP, utf8(key), SEP, utf8(uploadId)]);
}

/** `<uploadId>\0<partNumber as 4 bytes big-endian>`: parts in number order. */
export function partKey(uploadId: string, partNumber: number): Buffer {
  const n = Buffer.alloc(4);
  n.writeUInt32BE(Math.max(0, Math.min(partNumber, 0xffffffff)));
  return Buffer.concat([utf8(uploadId), SEP, n]);
}

export function partBase(uploadId: string): Buffer {
  return Buffer.concat([utf8(uploadId), SEP]);
}

/** Big-endian so sequence numbers and times sort numerically. 6 bytes: up to 2^48. */
export function u48(n: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntBE(n, 0, 6);
  return b;
}

export function readU48(b: Buffer, offset = 0): number {
  return b.readUIntBE(offset, 6);
}

/**
 * The smallest byte string greater than every string that starts with `p`, or undefined when no
 * such bound exists (all 0xff). Seeking there skips a whole common prefix in one step.
 */
export function successor(p: Buffer): Buffer | undefined {
  let end = p.length;
  while (end > 0 && p[end - 1] === 0xff) end--;
  if (end === 0) return undefined;
  const out = Buffer.from(p.subarray(0, end));
  out[end - 1] = (out[end - 1] ?? 0) + 1;
  return out;
}

/** The smallest byte string greater than `p` itself. */
export function after(p: Buffer): Buffer {
  return Buffer.concat([p, SEP]);
}

export function maxBuf(a: Buffer, b: Buffer): Buffer {
  return Buffer.compare(a, b) >= 0 ? a : b;
}
