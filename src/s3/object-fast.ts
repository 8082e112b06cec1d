/**
 * GetObject and HeadObject of a small object whose bytes are in memory, answered in the turn the
 * request arrived: the namespace read synchronously (where the store can), no S3Call, no promise.
 * A profile of 4 KB GetObjects showed the async operation path (dispatch, two awaited namespace
 * reads, the Readable-or-Buffer read, the awaited send) costing more than the signature check.
 *
 * Only the plain request: the presign's own parameters (and the SDK's `x-id`), no Range, no
 * conditional headers, no partNumber or response-* overrides. Anything else, and
 * every refusal (no such bucket or key, not the owner, a file not cached yet), returns undefined and
 * takes the full path in object-get.ts, which answers it exactly as before.
 */
import type { IncomingMessage } from 'node:http';
import type { ObjectRecord } from '../namespace/index.js';
import type { Reply } from './call.js';
import type { S3Context } from './context.js';
import { storedHeaders } from './headers.js';
import { MAX_KEY_BYTES } from './names.js';
import type { AuthResult } from './sigv4.js';
import type { Target } from './target.js';

/** Request headers that change what a GET answers: each sends the request down the full path. */
const SHAPING = ['range', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since'] as const;

/** Query names a plain GET may carry: the presign's X-Amz-* and the SDK's operation name. */
function plainQuery(target: Target): boolean {
  for (const p of target.params) if (!p.name.startsWith('X-Amz-') && p.name !== 'x-id') return false;
  return true;
}

export function fastObject(
  ctx: S3Context,
  req: IncomingMessage,
  target: Target,
  auth: AuthResult,
): (Reply & { readonly body: Buffer }) | undefined {
  const { bucket, key } = target;
  const ns = ctx.ns;
  if (bucket === undefined || key === undefined || !ns.getBucketSync || !ns.getObjectSync) return;
  const h = req.headers;
  for (const name of SHAPING) if (h[name] !== undefined) return;
  // A key too long for the namespace is refused on the full path (byte length only where it may be).
  if (key.length > MAX_KEY_BYTES / 3 && Buffer.byteLength(key) > MAX_KEY_BYTES) return;
  if (!plainQuery(target)) return;
  // What S3Call.ownedBucket('read') allows: the owner, or anyone when the bucket is public.
  const b = ns.getBucketSync(bucket);
  if (b === undefined || (auth.accessKey === undefined ? !b.public : b.owner !== auth.accessKey)) return;
  const rec = ns.getObjectSync(bucket, key);
  const only = rec?.parts.length === 1 ? rec.parts[0] : undefined;
  if (rec === undefined || only === undefined) return;
  // Only non-appender files ever enter the cache (readObject), so a hit needs no such check.
  const data = ctx.smallFiles.get(only.fileId);
  if (data === undefined || data.length !== rec.size) return;
  let headers = answered.get(rec);
  if (headers === undefined) {
    headers = { ...storedHeaders(rec), 'content-length': rec.size };
    answered.set(rec, headers);
  }
  // The SDK asks for the stored checksum on every GetObject (the whole object's: no range here).
  const sum = rec.checksum;
  const mode = h['x-amz-checksum-mode'];
  if (sum && typeof mode === 'string' && mode.toUpperCase() === 'ENABLED')
    headers = { ...headers, [`x-amz-checksum-${sum.algorithm.toLowerCase()}`]: sum.value };
  return { status: 200, headers, body: data };
}

/**
 * The answer headers of a record, built once: a store with sync reads hands out the same frozen
 * record while its bytes are unchanged (the lmdb store does), and a changed object is a new record.
 * send() copies them, so the shared object is never written to.
 */
const answered = new WeakMap<ObjectRecord, Readonly<Record<string, string | number>>>();
