/** openLmdbNamespace: the Namespace contract over one lmdb environment in `dir`. */
import { mkdir } from 'node:fs/promises';
import {
  createBucket,
  deleteBucket,
  getBucket,
  getBucketSync,
  listBuckets,
  setBucketPublic,
} from './lmdb-buckets.js';
import { ackGarbage, isReferenced, takeGarbage } from './lmdb-garbage.js';
import { clearIntents, listIntents, recordIntent } from './lmdb-intents.js';
import { listObjects } from './lmdb-list.js';
import {
  abortUpload,
  completeUpload,
  createUpload,
  getCompleted,
  getUpload,
  listParts,
  listUploads,
  putPart,
} from './lmdb-multipart.js';
import { deleteObject, getObject, getObjectSync, putObject } from './lmdb-objects.js';
import { openStore } from './lmdb-store.js';
import type { LmdbNamespaceOptions, Namespace } from './types.js';

export async function openLmdbNamespace(dir: string, opts: LmdbNamespaceOptions = {}): Promise<Namespace> {
  await mkdir(dir, { recursive: true });
  const s = openStore(dir, opts);
  let closed: Promise<void> | undefined;
  return {
    createBucket: (b) => createBucket(s, b),
    getBucket: (name) => getBucket(s, name),
    getBucketSync: (name) => getBucketSync(s, name),
    listBuckets: (owner) => listBuckets(s, owner),
    setBucketPublic: (name, pub) => setBucketPublic(s, name, pub),
    deleteBucket: (name) => deleteBucket(s, name),
    getObject: (bucket, key) => getObject(s, bucket, key),
    getObjectSync: (bucket, key) => getObjectSync(s, bucket, key),
    putObject: (rec, cond) => putObject(s, rec, cond),
    deleteObject: (bucket, key) => deleteObject(s, bucket, key),
    listObjects: (bucket, q) => listObjects(s, bucket, q),
    createUpload: (u) => createUpload(s, u),
    getUpload: (id) => getUpload(s, id),
    putPart: (p, cond) => putPart(s, p, cond),
    listParts: (id, afterPart, max) => listParts(s, id, afterPart, max),
    listUploads: (bucket, q) => listUploads(s, bucket, q),
    completeUpload: (id, rec, cond) => completeUpload(s, id, rec, cond),
    getCompleted: (id) => getCompleted(s, id),
    abortUpload: (id) => abortUpload(s, id),
    isReferenced: (fileId) => isReferenced(s, fileId),
    takeGarbage: (max) => takeGarbage(s, max),
    ackGarbage: (seqs) => ackGarbage(s, seqs),
    recordIntent: (i, finished) => recordIntent(s, i, finished),
    listIntents: (max) => listIntents(s, max),
    clearIntents: (ids) => clearIntents(s, ids),
    close: () => {
      closed ??= s.root.close();
      return closed;
    },
  };
}
