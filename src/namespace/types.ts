/**
 * The namespace contract: bucket/key → object records over FastDFS file ids. Every store (lmdb now,
 * PostgreSQL next) implements `Namespace` and passes the one conformance suite in test/namespace.
 * Keys compare by UTF-8 bytes, as S3 lists them.
 */

/** One stored FastDFS file of an object, in order. */
export interface ObjectPart {
  readonly fileId: string;
  readonly size: number;
  /**
   * Added by import: a file a FastDFS client wrote, registered by `fdfs s3 import`. Committing it
   * marks the file as borrowed for good: the namespace never queues a borrowed file for deletion,
   * whatever names it later (a copy, a part) and once nothing does. Native clients still hold its id.
   */
  readonly borrowed?: true;
}

export interface ObjectRecord {
  readonly bucket: string;
  readonly key: string;
  /** One for PutObject, N for multipart. */
  readonly parts: readonly ObjectPart[];
  readonly size: number;
  /** Bare hex, or hex-N for multipart (no quotes). */
  readonly etag: string;
  /** ms since epoch. */
  readonly lastModified: number;
  readonly contentType: string;
  /** cache-control, content-disposition, content-encoding, content-language, expires (lower-case names). */
  readonly headers: Readonly<Record<string, string>>;
  /** x-amz-meta-* names without the prefix, lower-case. */
  readonly meta: Readonly<Record<string, string>>;
  /** e.g. CRC32 base64, as sent. */
  readonly checksum?: { readonly algorithm: string; readonly value: string };
}

export interface BucketRecord {
  readonly name: string;
  /** Access key of the owner. */
  readonly owner: string;
  readonly createdAt: number;
  readonly group?: string;
  readonly public: boolean;
}

export interface UploadRecord {
  readonly uploadId: string;
  readonly bucket: string;
  readonly key: string;
  readonly owner: string;
  readonly initiatedAt: number;
  readonly contentType: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly meta: Readonly<Record<string, string>>;
  readonly group?: string;
}

export interface PartRecord {
  readonly uploadId: string;
  readonly partNumber: number;
  readonly fileId: string;
  readonly size: number;
  readonly etag: string;
  readonly lastModified: number;
}

/** What a completed upload answered, so a repeated Complete gets the same answer (added by ns). */
export interface CompletedUpload {
  readonly uploadId: string;
  readonly bucket: string;
  readonly key: string;
  readonly etag: string;
  readonly completedAt: number;
}

export interface ListQuery {
  readonly prefix?: string;
  readonly delimiter?: string;
  /** Exclusive: a key or a common prefix. */
  readonly after?: string;
  readonly maxKeys: number;
}

export interface ListPage {
  readonly objects: readonly ObjectRecord[];
  readonly prefixes: readonly string[];
  readonly truncated: boolean;
  /** Last key or prefix returned, for NextMarker / continuation. */
  readonly last?: string;
}

export interface WriteCondition {
  readonly ifNoneMatch?: '*';
  /** Bare etag. */
  readonly ifMatch?: string;
  /**
   * Added by ns, for CopyObject sharing the source's files: each of these file ids must still be
   * referenced when the write commits. Otherwise the source went away meanwhile, its files are in the
   * garbage queue (perhaps being deleted already), and the write answers 'precondition-failed'.
   */
  readonly requireReferenced?: readonly string[];
  /**
   * Added by import: each of these file ids must be unknown to the namespace when the write commits:
   * no object or part names it, it is not queued for deletion and it was never borrowed. So an import
   * never takes a file an S3 upload stored, nor one imported before whose key was deleted through S3.
   */
  readonly requireUnknown?: readonly string[];
}

export interface UploadListQuery {
  readonly prefix?: string;
  /** As in ListQuery: keys with it past the prefix roll up into one common prefix each. */
  readonly delimiter?: string;
  /** Exclusive: every upload of this key is skipped (unless uploadIdMarker), or, delimited, this common prefix. */
  readonly keyMarker?: string;
  /** With keyMarker: that key's uploads with a greater id are listed. */
  readonly uploadIdMarker?: string;
  /** Uploads and common prefixes together. */
  readonly max: number;
}

export interface UploadPage {
  readonly uploads: readonly UploadRecord[];
  readonly prefixes: readonly string[];
  /** More uploads or prefixes follow; `next` holds the markers that list them. */
  readonly truncated: boolean;
  /** When truncated: the last entry returned (a common prefix has no upload id). */
  readonly next?: { readonly keyMarker: string; readonly uploadIdMarker?: string };
}

export interface GarbageEntry {
  readonly seq: number;
  readonly fileId: string;
}

/**
 * What an S3 upload is about to store, recorded (durably) after its last body byte arrived and
 * before the storage may create the file: the storage names a file by size and CRC-32, so `fdfs s3
 * gc` can find the file of an upload that crashed before its commit in the storage's binlog.
 */
export interface UploadIntent {
  readonly id: number;
  /** The group the file goes to; '' when the tracker picks it. */
  readonly group: string;
  readonly size: number;
  readonly crc32: number;
  /** ms since epoch, when recorded. */
  readonly at: number;
}

export interface Namespace {
  /** owned = exists, same owner. */
  createBucket(b: BucketRecord): Promise<'created' | 'owned' | 'taken'>;
  getBucket(name: string): Promise<BucketRecord | undefined>;
  /** By name. */
  listBuckets(owner: string): Promise<readonly BucketRecord[]>;
  setBucketPublic(name: string, pub: boolean): Promise<void>;
  /** Open uploads are aborted with it (their parts' files → garbage). */
  deleteBucket(name: string): Promise<'deleted' | 'missing' | 'not-empty'>;
  getObject(bucket: string, key: string): Promise<ObjectRecord | undefined>;
  /**
   * Optional, for stores whose reads never wait on I/O (lmdb reads a memory map): getBucket and
   * getObject's answers without a promise, so a hot GetObject can be answered in one turn. A store
   * without them (PostgreSQL) is read through the async pair; callers must fall back to it.
   */
  getBucketSync?(name: string): BucketRecord | undefined;
  getObjectSync?(bucket: string, key: string): ObjectRecord | undefined;
  /** Commits the key; the files of the object it replaces go to the garbage queue in the same transaction. */
  putObject(rec: ObjectRecord, cond?: WriteCondition): Promise<'ok' | 'no-bucket' | 'precondition-failed'>;
  /** Old files → garbage, same transaction. */
  deleteObject(bucket: string, key: string): Promise<boolean>;
  /** Keys in UTF-8 byte order. */
  listObjects(bucket: string, q: ListQuery): Promise<ListPage>;
  createUpload(u: UploadRecord): Promise<'ok' | 'no-bucket'>;
  getUpload(uploadId: string): Promise<UploadRecord | undefined>;
  /**
   * A replaced part's file → garbage. `cond.requireReferenced` (UploadPartCopy sharing the source's
   * file): as for putObject, each file must still be referenced, else 'precondition-failed'.
   */
  putPart(
    p: PartRecord,
    cond?: Pick<WriteCondition, 'requireReferenced'>,
  ): Promise<'ok' | 'no-upload' | 'precondition-failed'>;
  listParts(uploadId: string, afterPart: number, max: number): Promise<readonly PartRecord[]>;
  /** Ordered by key bytes, then uploadId; common prefixes in key order among them. */
  listUploads(bucket: string, q: UploadListQuery): Promise<UploadPage>;
  /** Atomically: the object committed, the upload and its parts gone, unused parts' files → garbage. */
  completeUpload(
    uploadId: string,
    rec: ObjectRecord,
    cond?: WriteCondition,
  ): Promise<'ok' | 'no-upload' | 'precondition-failed'>;
  /** Added by ns: a recently completed upload (kept ~24 h), so a repeated Complete answers the same. */
  getCompleted(uploadId: string): Promise<CompletedUpload | undefined>;
  /** Parts' files → garbage. */
  abortUpload(uploadId: string): Promise<boolean>;
  /**
   * Added by ns: whether the namespace keeps the file: an object or part names it, or it is borrowed
   * (see ObjectPart.borrowed). Orphan gc deletes only files for which this is false.
   */
  isReferenced(fileId: string): Promise<boolean>;
  /** Garbage queue: file ids no object or part references any more (ref-counted: CopyObject shares files). */
  takeGarbage(max: number): Promise<readonly GarbageEntry[]>;
  ackGarbage(seqs: readonly number[]): Promise<void>;
  /**
   * Added by s3crash: records an intent (durable before it resolves) and, in the same transaction,
   * clears `finished` (intents whose upload committed or was dropped). Returns the new intent's id.
   */
  recordIntent(i: Omit<UploadIntent, 'id'>, finished?: readonly number[]): Promise<number>;
  /** Oldest first. */
  listIntents(max: number): Promise<readonly UploadIntent[]>;
  clearIntents(ids: readonly number[]): Promise<void>;
  close(): Promise<void>;
}

export interface LmdbNamespaceOptions {
  /** false: commits are not synced (tests, benchmarks). Default true. */
  readonly durable?: boolean;
  /** Clock for completion records (tests). Default Date.now. */
  readonly now?: () => number;
  /** How long a completed upload still answers a repeated Complete. Default 24 h. */
  readonly completedTtlMs?: number;
}
