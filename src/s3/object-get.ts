/** GetObject and HeadObject: conditionals, one Range (across parts), response-* overrides. */
import { Readable } from 'node:stream';
import type { ObjectRecord } from '../namespace/index.js';
import type { Reply, S3Call } from './call.js';
import { s3Error } from './errors.js';
import { readObject } from './files.js';
import { checkConditions, objectHeaders, parseRange } from './headers.js';
import { assertKey } from './names.js';

export async function findObject(call: S3Call, bucket: string, key: string): Promise<ObjectRecord> {
  const rec = await call.ctx.ns.getObject(bucket, key);
  if (!rec) throw s3Error('NoSuchKey', 'The specified key does not exist.');
  return rec;
}

/** partNumber=N: the range of that part of a multipart object (part 1 of a plain one is all of it). */
function partRange(call: S3Call, rec: ObjectRecord): { start: number; end: number } | undefined {
  const text = call.q('partNumber');
  if (text === undefined) return undefined;
  const n = /^\d{1,5}$/.test(text) ? Number(text) : 0;
  if (n < 1 || n > 10_000)
    throw s3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive');
  if (n > Math.max(1, rec.parts.length))
    throw s3Error('InvalidPart', 'The requested partnumber is not satisfiable');
  let start = 0;
  for (let i = 0; i < n - 1; i++) start += rec.parts[i]?.size ?? 0;
  return { start, end: start + (rec.parts[n - 1]?.size ?? rec.size) - 1 };
}

export async function getObject(call: S3Call, head: boolean): Promise<Reply> {
  const b = await call.ownedBucket('read');
  const key = call.key;
  assertKey(key);
  const rec = await findObject(call, b.name, key);
  const headers: Record<string, string | number> = objectHeaders(call, rec);
  if (checkConditions(call, rec) === 'not-modified') {
    return {
      status: 304,
      headers: { etag: headers.etag as string, 'last-modified': headers['last-modified'] as string },
    };
  }
  const byPart = partRange(call, rec);
  const range = byPart ?? parseRange(call.header('range'), rec.size);
  const start = range?.start ?? 0;
  const end = range?.end ?? rec.size - 1;
  headers['content-length'] = end - start + 1;
  if (range) headers['content-range'] = `bytes ${start}-${end}/${rec.size}`;
  // The stored checksum covers the whole object: a part of it goes without (the SDK checks it).
  else if (rec.checksum && call.header('x-amz-checksum-mode')?.toUpperCase() === 'ENABLED') {
    headers[`x-amz-checksum-${rec.checksum.algorithm.toLowerCase()}`] = rec.checksum.value;
  }
  const status = range && !(byPart && rec.parts.length <= 1) ? 206 : 200;
  if (head) return { status, headers };
  const read = await readObject(call.ctx, rec.parts, start, end);
  if (Buffer.isBuffer(read) || read instanceof Readable) return { status, headers, body: read };
  return { status, headers, body: read.body, file: read.file };
}
