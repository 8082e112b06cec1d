/** Multipart verbs of the lmdb store: uploads, parts, complete (idempotent answer kept), abort. */
import { FdfsError, Status } from '../common/index.js';
import {
  after,
  bucketBase,
  checkKey,
  maxBuf,
  objectKey,
  partBase,
  partKey,
  successor,
  u48,
  uploadKey,
  utf8,
} from './lmdb-keys.js';
import { commitObject, conditionHolds, storedObject } from './lmdb-objects.js';
import { acquire, type LmdbStore, release, write } from './lmdb-store.js';
import type {
  CompletedUpload,
  ObjectRecord,
  PartRecord,
  UploadListQuery,
  UploadPage,
  UploadRecord,
  WriteCondition,
} from './types.js';

export async function createUpload(s: LmdbStore, u: UploadRecord): Promise<'ok' | 'no-bucket'> {
  checkKey(u.key);
  const value: UploadRecord = {
    uploadId: u.uploadId,
    bucket: u.bucket,
    key: u.key,
    owner: u.owner,
    initiatedAt: u.initiatedAt,
    contentType: u.contentType,
    headers: { ...u.headers },
    meta: { ...u.meta },
    ...(u.group !== undefined && { group: u.group }),
  };
  return write(s, () => {
    if (!s.buckets.get(utf8(u.bucket))) return 'no-bucket';
    s.uploads.putSync(utf8(u.uploadId), value);
    s.uploadKeys.putSync(uploadKey(u.bucket, u.key, u.uploadId), true);
    return 'ok';
  });
}

export async function getUpload(s: LmdbStore, uploadId: string): Promise<UploadRecord | undefined> {
  return s.uploads.get(utf8(uploadId));
}

export function putPart(
  s: LmdbStore,
  p: PartRecord,
  cond?: Pick<WriteCondition, 'requireReferenced'>,
): Promise<'ok' | 'no-upload' | 'precondition-failed'> {
  const value: PartRecord = {
    uploadId: p.uploadId,
    partNumber: p.partNumber,
    fileId: p.fileId,
    size: p.size,
    etag: p.etag,
    lastModified: p.lastModified,
  };
  const k = partKey(p.uploadId, p.partNumber);
  return write(s, () => {
    if (!s.uploads.get(utf8(p.uploadId))) return 'no-upload';
    if (!conditionHolds(s, undefined, cond)) return 'precondition-failed';
    const old = s.parts.get(k);
    acquire(s, [value]);
    if (old) release(s, [old]);
    s.parts.putSync(k, value);
    return 'ok';
  });
}

export async function listParts(
  s: LmdbStore,
  uploadId: string,
  afterPart: number,
  max: number,
): Promise<readonly PartRecord[]> {
  if (max <= 0) return [];
  const end = successor(partBase(uploadId));
  const start = partKey(uploadId, Math.max(0, Math.floor(afterPart) + 1));
  return Array.from(s.parts.getRange({ start, ...(end && { end }), limit: max }), ({ value }) => value);
}

/**
 * A range scan over `<bucket>\0<key>\0<uploadId>`. Delimited, a key that rolls up into a common
 * prefix ends the cursor and the scan seeks past the prefix (as listObjects does), so a page never
 * walks the uploads under a prefix.
 */
export async function listUploads(s: LmdbStore, bucket: string, q: UploadListQuery): Promise<UploadPage> {
  const uploads: UploadRecord[] = [];
  const prefixes: string[] = [];
  if (q.max <= 0) return { uploads, prefixes, truncated: false };
  const base = bucketBase(bucket);
  const lower = Buffer.concat([base, utf8(q.prefix ?? '')]);
  const end = successor(lower);
  const delim = q.delimiter ? utf8(q.delimiter) : undefined;
  const markerKey = q.keyMarker === undefined ? undefined : Buffer.concat([base, utf8(q.keyMarker)]);
  let start: Buffer = lower;
  if (q.keyMarker !== undefined) {
    // Same key, later upload id; or, with no id marker, the first key after the marker.
    const marker =
      q.uploadIdMarker !== undefined
        ? after(uploadKey(bucket, q.keyMarker, q.uploadIdMarker))
        : successor(after(markerKey as Buffer));
    if (marker) start = maxBuf(lower, marker);
  }
  let next: UploadPage['next'];
  let count = 0;
  for (;;) {
    let seekTo: Buffer | undefined;
    for (const key of s.uploadKeys.getKeys({ start, ...(end && { end }) })) {
      const sep = key.lastIndexOf(0);
      const cut = delim ? key.subarray(0, sep).indexOf(delim, lower.length) : -1;
      if (cut >= 0) {
        const cp = key.subarray(0, cut + (delim?.length ?? 0));
        seekTo = successor(cp);
        // A prefix at or before the key marker was listed on an earlier page.
        if (markerKey && Buffer.compare(cp, markerKey) <= 0) break;
        if (count >= q.max) return { uploads, prefixes, truncated: true, ...(next && { next }) };
        const prefix = cp.subarray(base.length).toString('utf8');
        prefixes.push(prefix);
        next = { keyMarker: prefix };
        count++;
        break;
      }
      const u = s.uploads.get(key.subarray(sep + 1));
      if (!u) continue;
      if (count >= q.max) return { uploads, prefixes, truncated: true, ...(next && { next }) };
      uploads.push(u);
      next = { keyMarker: u.key, uploadIdMarker: u.uploadId };
      count++;
    }
    if (!seekTo) return { uploads, prefixes, truncated: false };
    start = seekTo;
  }
}

export async function completeUpload(
  s: LmdbStore,
  uploadId: string,
  rec: ObjectRecord,
  cond?: WriteCondition,
): Promise<'ok' | 'no-upload' | 'precondition-failed'> {
  checkKey(rec.key);
  const k = objectKey(rec.bucket, rec.key);
  const value = storedObject(rec);
  const done: CompletedUpload = {
    uploadId,
    bucket: rec.bucket,
    key: rec.key,
    etag: rec.etag,
    completedAt: s.now(),
  };
  const result = await write(s, () => {
    const u = s.uploads.get(utf8(uploadId));
    if (!u) return 'no-upload';
    if (u.bucket !== rec.bucket || u.key !== rec.key) return 'elsewhere';
    const old = s.objects.get(k);
    if (!conditionHolds(s, old, cond)) return 'precondition-failed';
    // The object's references first, then the upload's parts let go: parts it does not use are queued.
    commitObject(s, k, old, value);
    abortInTxn(s, uploadId);
    s.completed.putSync(utf8(uploadId), done);
    s.completedByTime.putSync(Buffer.concat([u48(done.completedAt), utf8(uploadId)]), true);
    expireCompleted(s, done.completedAt - s.completedTtlMs);
    return 'ok';
  });
  if (result === 'elsewhere') {
    throw new FdfsError(Status.EINVAL, `upload ${uploadId} belongs to another key`, {
      detail: 'NoSuchUpload',
    });
  }
  return result;
}

export async function getCompleted(s: LmdbStore, uploadId: string): Promise<CompletedUpload | undefined> {
  const c = s.completed.get(utf8(uploadId));
  return c && c.completedAt > s.now() - s.completedTtlMs ? c : undefined;
}

export function abortUpload(s: LmdbStore, uploadId: string): Promise<boolean> {
  return write(s, () => abortInTxn(s, uploadId));
}

/** Inside a write transaction: drops the upload and its parts, their files lose a reference. */
export function abortInTxn(s: LmdbStore, uploadId: string): boolean {
  const id = utf8(uploadId);
  const u = s.uploads.get(id);
  if (!u) return false;
  const base = partBase(uploadId);
  const end = successor(base);
  // Collected first: the loop below deletes what the cursor would walk over.
  const parts = Array.from(s.parts.getRange({ start: base, ...(end && { end }) }), ({ key, value }) => ({
    key: Buffer.from(key),
    value,
  }));
  for (const p of parts) {
    release(s, [p.value]);
    s.parts.removeSync(p.key);
  }
  s.uploads.removeSync(id);
  s.uploadKeys.removeSync(uploadKey(u.bucket, u.key, uploadId));
  return true;
}

/** A few expired completion records go with each completion, so the table stays small. */
function expireCompleted(s: LmdbStore, before: number): void {
  const old = Array.from(s.completedByTime.getKeys({ end: u48(Math.max(0, before)), limit: 16 }), (k) =>
    Buffer.from(k),
  );
  for (const k of old) {
    s.completedByTime.removeSync(k);
    s.completed.removeSync(k.subarray(6));
  }
}
