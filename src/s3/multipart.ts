/** Multipart uploads: Create, UploadPart, UploadPartCopy, Abort. Each part is one FastDFS file. */
import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, Transform } from 'node:stream';
import type { ObjectRecord, UploadRecord } from '../namespace/index.js';
import { type Reply, type S3Call, xmlReply } from './call.js';
import { s3Error } from './errors.js';
import { openObject, storeFile } from './files.js';
import { objectMetaOf, parseRange } from './headers.js';
import { assertKey } from './names.js';
import { copySource, dropFiles } from './object-put.js';
import { isoTime } from './owner.js';
import { el, root } from './xml-write.js';

export const MAX_PART_NUMBER = 10_000;

export async function createUpload(call: S3Call): Promise<Reply> {
  const { ctx } = call;
  const b = await call.ownedBucket();
  const key = call.key;
  assertKey(key);
  const upload: UploadRecord = {
    uploadId: randomBytes(24).toString('base64url'),
    bucket: b.name,
    key,
    owner: call.owner as string,
    initiatedAt: ctx.now(),
    ...objectMetaOf(call),
    ...(b.group === undefined ? {} : { group: b.group }),
  };
  if ((await ctx.ns.createUpload(upload)) === 'no-bucket') {
    throw s3Error('NoSuchBucket', 'The specified bucket does not exist.');
  }
  const algorithm = call.header('x-amz-checksum-algorithm');
  return xmlReply(
    root(
      'InitiateMultipartUploadResult',
      el('Bucket', b.name),
      el('Key', key),
      el('UploadId', upload.uploadId),
    ),
    200,
    algorithm ? { 'x-amz-checksum-algorithm': algorithm } : {},
  );
}

/** The upload named by ?uploadId, which must belong to this bucket and key. */
export async function uploadOf(call: S3Call, bucket: string): Promise<UploadRecord> {
  const id = call.q('uploadId') ?? '';
  const u = id === '' ? undefined : await call.ctx.ns.getUpload(id);
  if (!u || u.bucket !== bucket || u.key !== call.key) {
    throw s3Error(
      'NoSuchUpload',
      'The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    );
  }
  return u;
}

function partNumberOf(call: S3Call): number {
  const text = call.q('partNumber') ?? '';
  const n = /^\d{1,5}$/.test(text) ? Number(text) : 0;
  if (n < 1 || n > MAX_PART_NUMBER) {
    throw s3Error(
      'InvalidArgument',
      `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`,
    );
  }
  return n;
}

/**
 * Commits a part. `shared`: the file is the copy source's, not a new one; it must still be
 * referenced at the commit (as for CopyObject), or a DeleteObject of the source in between has
 * queued it for deletion and the part would point at a file the garbage drain removes.
 */
async function savePart(
  call: S3Call,
  u: UploadRecord,
  partNumber: number,
  fileId: string,
  size: number,
  etag: string,
  shared = false,
): Promise<'ok' | 'unreferenced'> {
  const outcome = await call.ctx.ns.putPart(
    { uploadId: u.uploadId, partNumber, fileId, size, etag, lastModified: call.ctx.now() },
    shared ? { requireReferenced: [fileId] } : undefined,
  );
  if (outcome === 'precondition-failed') return 'unreferenced';
  if (outcome !== 'ok') {
    // Only a file this request stored is dropped: a shared one is still the source's.
    if (!shared) await dropFiles(call.ctx, [fileId]);
    throw s3Error('NoSuchUpload', 'The specified multipart upload does not exist.');
  }
  // A part sent again replaces the earlier one, whose file is now garbage.
  call.ctx.kickGarbage();
  return 'ok';
}

export async function uploadPart(call: S3Call): Promise<Reply> {
  const b = await call.ownedBucket();
  const partNumber = partNumberOf(call);
  const u = await uploadOf(call, b.name);
  const body = call.body();
  const stored = await storeFile(call.ctx, body.stream, { key: u.key, group: u.group, size: body.size });
  const etag = body.md5Hex();
  await savePart(call, u, partNumber, stored.fileId, stored.size, etag);
  const headers: Record<string, string> = { etag: `"${etag}"`, 'x-fdfs-file-id': stored.fileId };
  const checksum = body.checksum();
  if (checksum) headers[`x-amz-checksum-${checksum.algorithm.toLowerCase()}`] = checksum.value;
  return { status: 200, headers };
}

/** MD5 of what passes through, for the ETag of a part copied byte for byte. */
function md5Tap() {
  const hash = createHash('md5');
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  return { tap, hex: () => hash.digest('hex') };
}

/** Tries before UploadPartCopy gives up on a source replaced under it each time. */
const SHARE_TRIES = 3;

/**
 * UploadPartCopy: a whole single-file source shares its file; a range (or a multipart source)
 * is copied into a new file, since a part is one file. A shared file is committed only while the
 * source still references it: when the source was deleted meanwhile the copy is NoSuchKey, when it
 * was replaced the copy starts over from the new source.
 */
export async function uploadPartCopy(call: S3Call): Promise<Reply> {
  const b = await call.ownedBucket();
  const partNumber = partNumberOf(call);
  const u = await uploadOf(call, b.name);
  for (let attempt = 1; ; attempt++) {
    const src = await copySource(call);
    const done = await copyPartOnce(call, u, partNumber, src);
    if (done) return done;
    if (!(await call.ctx.ns.getObject(src.bucket, src.key))) {
      throw s3Error('NoSuchKey', 'The specified key does not exist.');
    }
    if (attempt >= SHARE_TRIES) {
      throw s3Error('SlowDown', 'The copy source kept changing during the copy; try again.');
    }
  }
}

/** One copy of `src` into the part; undefined when the shared source file lost its last reference. */
async function copyPartOnce(
  call: S3Call,
  u: UploadRecord,
  partNumber: number,
  src: ObjectRecord,
): Promise<Reply | undefined> {
  const rangeHeader = call.header('x-amz-copy-source-range');
  const range = rangeHeader === undefined ? undefined : parseRange(rangeHeader, src.size);
  if (rangeHeader !== undefined && !range) {
    throw s3Error(
      'InvalidArgument',
      'The x-amz-copy-source-range value must be of the form bytes=first-last.',
    );
  }
  const first = src.parts[0];
  let fileId: string;
  let size: number;
  let etag: string;
  let shared = false;
  if (!range && src.parts.length === 1 && first && /^[0-9a-f]{32}$/.test(src.etag)) {
    ({ fileId, size } = first);
    etag = src.etag;
    shared = true;
  } else {
    const start = range?.start ?? 0;
    const end = range?.end ?? src.size - 1;
    size = end - start + 1;
    const { tap, hex } = md5Tap();
    const bytes = await openObject(call.ctx, src.parts, start, end);
    const out = new PassThrough();
    bytes.pipe(tap).pipe(out);
    bytes.on('error', (err) => out.destroy(err));
    const stored = await storeFile(call.ctx, out, { key: u.key, group: u.group, size });
    fileId = stored.fileId;
    etag = hex();
  }
  if ((await savePart(call, u, partNumber, fileId, size, etag, shared)) === 'unreferenced') return undefined;
  return xmlReply(
    root('CopyPartResult', el('LastModified', isoTime(call.ctx.now())), el('ETag', `"${etag}"`)),
    200,
    { 'x-fdfs-file-id': fileId },
  );
}

export async function abortUpload(call: S3Call): Promise<Reply> {
  const b = await call.ownedBucket();
  const u = await uploadOf(call, b.name);
  if (!(await call.ctx.ns.abortUpload(u.uploadId))) {
    throw s3Error('NoSuchUpload', 'The specified multipart upload does not exist.');
  }
  call.ctx.kickGarbage();
  return { status: 204 };
}
