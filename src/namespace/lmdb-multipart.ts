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

export async function listUploads(
  s: LmdbStore,
  bucket: string,
  q: UploadListQuery,
): Promise<readonly UploadRecord[]> {
  if (q.max <= 0) return [];
  const lower = Buffer.concat([bucketBase(bucket), utf8(q.prefix ?? '')]);
  const end = successor(lower);
  let start: Buffer = lower;
  if (q.keyMarker !== undefined) {
    // Same key, later upload id; or, with no id marker, the first key after the marker.
    const marker =
      q.uploadIdMarker !== undefined
        ? after(uploadKey(bucket, q.keyMarker, q.uploadIdMarker))
        : successor(Buffer.concat([bucketBase(bucket), utf8(q.keyMarker), Buffer.from([0])]));
    if (marker) start = maxBuf(lower, marker);
  }
  const out: UploadRecord[] = [];
  for (const key of s.uploadKeys.getKeys({ start, ...(end && { end }) })) {
    const u = s.uploads.get(key.subarray(key.lastIndexOf(0) + 1));
    if (u) out.push(u);
    if (out.length >= q.max) break;
  }
  return out;
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
