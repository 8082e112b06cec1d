/**
 * One lmdb environment with a named database per record kind, and the helpers every verb shares:
 * the write transaction (durable before it resolves) and file reference counting with the
 * garbage queue. Verbs live in lmdb-buckets, lmdb-objects, lmdb-list, lmdb-multipart, lmdb-garbage.
 */
import { type Database, open, type RootDatabase } from 'lmdb';
import { readU48, u48, utf8 } from './lmdb-keys.js';
import { RecordMemo } from './lmdb-memo.js';
import type {
  BucketRecord,
  CompletedUpload,
  ObjectPart,
  ObjectRecord,
  PartRecord,
  UploadIntent,
  UploadRecord,
} from './types.js';

/** An object as stored under `<bucket>\0<key>`: the record without its own address. */
export type StoredObject = Omit<ObjectRecord, 'bucket' | 'key'>;

export interface LmdbStore {
  readonly root: RootDatabase;
  readonly buckets: Database<BucketRecord, Buffer>;
  readonly objects: Database<StoredObject, Buffer>;
  readonly uploads: Database<UploadRecord, Buffer>;
  /** `<bucket>\0<key>\0<uploadId>` → true: uploads in listing order, found by bucket. */
  readonly uploadKeys: Database<true, Buffer>;
  readonly parts: Database<PartRecord, Buffer>;
  /** fileId → how many object parts and upload parts name it. */
  readonly refs: Database<number, Buffer>;
  /** seq → fileId. */
  readonly garbage: Database<string, Buffer>;
  /** fileId → its seq in the queue, so a file referenced again leaves the queue. */
  readonly garbageByFile: Database<number, Buffer>;
  readonly completed: Database<CompletedUpload, Buffer>;
  /** `<completedAt>` + uploadId → true: expiry order for `completed`. */
  readonly completedByTime: Database<true, Buffer>;
  readonly meta: Database<number, Buffer>;
  /** fileId → true: files registered by import, never queued for deletion (ObjectPart.borrowed). */
  readonly borrowed: Database<true, Buffer>;
  /** id → upload intent (see UploadIntent). */
  readonly intents: Database<Omit<UploadIntent, 'id'>, Buffer>;
  /** Hot reads of buckets and objects, by their stored bytes (lmdb-memo.ts). */
  readonly bucketMemo: RecordMemo<BucketRecord, BucketRecord>;
  readonly objectMemo: RecordMemo<StoredObject, ObjectRecord>;
  readonly durable: boolean;
  readonly now: () => number;
  readonly completedTtlMs: number;
}

export interface StoreOptions {
  readonly durable?: boolean;
  readonly now?: () => number;
  readonly completedTtlMs?: number;
}

export function openStore(dir: string, opts: StoreOptions = {}): LmdbStore {
  const durable = opts.durable !== false;
  // Durable: LMDB's classic commit (data fdatasync, then the meta page through an O_DSYNC fd) before
  // a write resolves. lmdb-js's default overlappingSync is documented to resolve at commit and sync
  // later; waiting for its `flushed` as well measured slower than this.
  // Not durable: no sync at all (a killed process still keeps what the OS page cache holds).
  const root = open({ path: dir, maxDbs: 16, noSync: !durable, overlappingSync: false });
  // useRecords off: msgpackr's record extension, with no shared structures, re-reads a record
  // definition inside every value, which made listing pages about twice as slow.
  const dbOptions = { keyEncoding: 'binary', useRecords: false } as const;
  const db = <V>(name: string): Database<V, Buffer> => root.openDB<V, Buffer>({ ...dbOptions, name });
  const buckets = db<BucketRecord>('buckets');
  const objects = db<StoredObject>('objects');
  return {
    root,
    buckets,
    objects,
    bucketMemo: new RecordMemo(buckets),
    objectMemo: new RecordMemo(objects),
    uploads: db('uploads'),
    uploadKeys: db('upload-keys'),
    parts: db('parts'),
    refs: db('refs'),
    garbage: db('garbage'),
    garbageByFile: db('garbage-by-file'),
    completed: db('completed'),
    completedByTime: db('completed-by-time'),
    meta: db('meta'),
    borrowed: db('borrowed'),
    intents: db('intents'),
    durable,
    now: opts.now ?? Date.now,
    completedTtlMs: opts.completedTtlMs ?? 24 * 3600_000,
  };
}

/**
 * Runs `fn` inside one write transaction (batched with the others of this event turn) and resolves
 * once it is committed, which when durable includes the sync. `fn` must be synchronous and must do
 * every check before its first write: lmdb-js does not roll back the writes of a callback that throws.
 */
export function write<T>(s: LmdbStore, fn: () => T): Promise<T> {
  return s.root.transaction(fn);
}

/**
 * Inside a write transaction: one more reference to each file; a queued file leaves the queue; a
 * borrowed part marks its file.
 */
export function acquire(s: LmdbStore, parts: readonly Pick<ObjectPart, 'fileId' | 'borrowed'>[]): void {
  for (const { fileId, borrowed } of parts) {
    const k = utf8(fileId);
    s.refs.putSync(k, (s.refs.get(k) ?? 0) + 1);
    if (borrowed === true && !s.borrowed.get(k)) s.borrowed.putSync(k, true);
    const seq = s.garbageByFile.get(k);
    if (seq !== undefined) {
      s.garbage.removeSync(u48(seq));
      s.garbageByFile.removeSync(k);
    }
  }
}

/**
 * Inside a write transaction: one reference less; a file nothing names any more is queued, unless
 * it is borrowed (a FastDFS client's file: it stays in FastDFS).
 */
export function release(s: LmdbStore, parts: readonly Pick<ObjectPart, 'fileId'>[]): void {
  for (const { fileId } of parts) {
    const k = utf8(fileId);
    const n = (s.refs.get(k) ?? 0) - 1;
    if (n > 0) {
      s.refs.putSync(k, n);
      continue;
    }
    s.refs.removeSync(k);
    if (s.borrowed.get(k) || s.garbageByFile.get(k) !== undefined) continue;
    const seqKey = utf8('garbage-seq');
    const seq = (s.meta.get(seqKey) ?? 0) + 1;
    s.meta.putSync(seqKey, seq);
    s.garbage.putSync(u48(seq), fileId);
    s.garbageByFile.putSync(k, seq);
  }
}

/** Neither named, nor queued, nor ever borrowed (WriteCondition.requireUnknown). */
export function isUnknown(s: LmdbStore, fileId: string): boolean {
  const k = utf8(fileId);
  return !s.refs.get(k) && s.garbageByFile.get(k) === undefined && !s.borrowed.get(k);
}

export function seqOf(key: Buffer): number {
  return readU48(key);
}
