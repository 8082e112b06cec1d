/** Object verbs of the lmdb store: read, put (conditional), delete. */
import { checkKey, objectKey, utf8 } from './lmdb-keys.js';
import { acquire, isUnknown, type LmdbStore, release, type StoredObject, write } from './lmdb-store.js';
import type { ObjectRecord, WriteCondition } from './types.js';

export async function getObject(
  s: LmdbStore,
  bucket: string,
  key: string,
): Promise<ObjectRecord | undefined> {
  return getObjectSync(s, bucket, key);
}

/**
 * lmdb reads the memory map in place: no I/O wait, so the answer needs no promise. A key read
 * again with unchanged bytes answers the same frozen record (lmdb-memo.ts).
 */
export function getObjectSync(s: LmdbStore, bucket: string, key: string): ObjectRecord | undefined {
  return s.objectMemo.get(
    `${bucket}\0${key}`,
    () => objectKey(bucket, key),
    (v) => ({ bucket, key, ...v }),
  );
}

export async function putObject(
  s: LmdbStore,
  rec: ObjectRecord,
  cond?: WriteCondition,
): Promise<'ok' | 'no-bucket' | 'precondition-failed'> {
  checkKey(rec.key);
  const k = objectKey(rec.bucket, rec.key);
  const value = storedObject(rec);
  return write(s, () => {
    if (!s.buckets.get(utf8(rec.bucket))) return 'no-bucket';
    const old = s.objects.get(k);
    if (!conditionHolds(s, old, cond)) return 'precondition-failed';
    commitObject(s, k, old, value);
    return 'ok';
  });
}

export function deleteObject(s: LmdbStore, bucket: string, key: string): Promise<boolean> {
  const k = objectKey(bucket, key);
  return write(s, () => {
    const old = s.objects.get(k);
    if (!old) return false;
    release(s, old.parts);
    s.objects.removeSync(k);
    return true;
  });
}

/**
 * If-None-Match: * wants no object; If-Match wants one with that etag; shared files still named;
 * imported files unknown.
 */
export function conditionHolds(
  s: LmdbStore,
  old: StoredObject | undefined,
  cond: WriteCondition | undefined,
): boolean {
  if (cond?.ifNoneMatch === '*' && old) return false;
  if (cond?.ifMatch !== undefined && old?.etag !== cond.ifMatch) return false;
  if (!(cond?.requireUnknown ?? []).every((fileId) => isUnknown(s, fileId))) return false;
  return (cond?.requireReferenced ?? []).every((fileId) => (s.refs.get(utf8(fileId)) ?? 0) > 0);
}

/**
 * Inside a write transaction: the new files gain a reference before the old ones lose theirs, so an
 * object rewritten onto its own files (a metadata-only copy) never queues them.
 */
export function commitObject(
  s: LmdbStore,
  k: Buffer,
  old: StoredObject | undefined,
  value: StoredObject,
): void {
  acquire(s, value.parts);
  if (old) release(s, old.parts);
  s.objects.putSync(k, value);
}

/** Only the contract's fields, copied, with no undefined members. */
export function storedObject(rec: ObjectRecord): StoredObject {
  return {
    parts: rec.parts.map((p) => ({
      fileId: p.fileId,
      size: p.size,
      ...(p.borrowed === true && { borrowed: true }),
    })),
    size: rec.size,
    etag: rec.etag,
    lastModified: rec.lastModified,
    contentType: rec.contentType,
    headers: { ...rec.headers },
    meta: { ...rec.meta },
    ...(rec.checksum && { checksum: { algorithm: rec.checksum.algorithm, value: rec.checksum.value } }),
  };
}
