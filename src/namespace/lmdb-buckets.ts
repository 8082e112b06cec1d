/** Bucket verbs of the lmdb store. */
import { FdfsError, Status } from '../common/index.js';
import { bucketBase, successor, utf8 } from './lmdb-keys.js';
import { abortInTxn } from './lmdb-multipart.js';
import { type LmdbStore, write } from './lmdb-store.js';
import type { BucketRecord } from './types.js';

export function createBucket(s: LmdbStore, b: BucketRecord): Promise<'created' | 'owned' | 'taken'> {
  const k = utf8(b.name);
  return write(s, () => {
    const old = s.buckets.get(k);
    if (old) return old.owner === b.owner ? 'owned' : 'taken';
    s.buckets.putSync(k, bucketValue(b));
    return 'created';
  });
}

export async function getBucket(s: LmdbStore, name: string): Promise<BucketRecord | undefined> {
  return getBucketSync(s, name);
}

/** Every S3 request reads its bucket: unchanged bytes answer the same frozen record (lmdb-memo.ts). */
export function getBucketSync(s: LmdbStore, name: string): BucketRecord | undefined {
  return s.bucketMemo.get(name, () => utf8(name), sameRecord);
}

const sameRecord = (b: BucketRecord) => b;

export async function listBuckets(s: LmdbStore, owner: string): Promise<readonly BucketRecord[]> {
  const out: BucketRecord[] = [];
  for (const { value } of s.buckets.getRange()) if (value.owner === owner) out.push(value);
  return out;
}

export async function setBucketPublic(s: LmdbStore, name: string, pub: boolean): Promise<void> {
  const k = utf8(name);
  const found = await write(s, () => {
    const old = s.buckets.get(k);
    if (!old) return false;
    s.buckets.putSync(k, bucketValue({ ...old, public: pub }));
    return true;
  });
  if (!found) throw new FdfsError(Status.ENOENT, `no bucket named ${name}`, { detail: 'NoSuchBucket' });
}

export function deleteBucket(s: LmdbStore, name: string): Promise<'deleted' | 'missing' | 'not-empty'> {
  const k = utf8(name);
  const base = bucketBase(name);
  const end = successor(base);
  return write(s, () => {
    if (!s.buckets.get(k)) return 'missing';
    for (const _ of s.objects.getKeys({ start: base, ...(end && { end }), limit: 1 })) return 'not-empty';
    const ids: string[] = [];
    for (const key of s.uploadKeys.getKeys({ start: base, ...(end && { end }) })) {
      ids.push(key.subarray(key.lastIndexOf(0) + 1).toString('utf8'));
    }
    for (const id of ids) abortInTxn(s, id);
    s.buckets.removeSync(k);
    return 'deleted';
  });
}

/** Only the contract's fields, with no undefined members (msgpack would keep them as nil). */
function bucketValue(b: BucketRecord): BucketRecord {
  return {
    name: b.name,
    owner: b.owner,
    createdAt: b.createdAt,
    public: b.public,
    ...(b.group !== undefined && { group: b.group }),
  };
}
