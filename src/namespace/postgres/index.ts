/**
 * openPgNamespace: the Namespace contract on PostgreSQL, shared by every gateway that names the
 * same database (s3.namespace = postgres://user@host:port/db). The schema is created and migrated
 * at open; `?schema=name` in the URL picks the PostgreSQL schema (default fdfs_s3). Bucket records
 * are cached per gateway and dropped on the database's notice of a change (bucket-cache.ts); writes
 * and intents that arrive together share a statement (batch.ts).
 */
import { FdfsError, type Logger, Status, silentLogger } from '../../common/index.js';
import type { Namespace } from '../types.js';
import { BucketCache } from './bucket-cache.js';
import { clientConfig, openPool, type PgStore } from './db.js';
import { listObjects } from './list.js';
import {
  abortUpload,
  completeUpload,
  createUpload,
  getCompleted,
  getUpload,
  listParts,
  listUploads,
  putPart,
} from './multipart.js';
import {
  createBucket,
  deleteBucket,
  deleteObject,
  getBucket,
  getObject,
  listBuckets,
  objectWriter,
  setBucketPublic,
} from './objects.js';
import {
  ackGarbage,
  clearIntents,
  intentWriter,
  listIntents,
  referenceChecker,
  takeGarbage,
} from './refs.js';
import { migrate } from './schema.js';

export { SCHEMA_VERSION as PG_SCHEMA_VERSION } from './schema.js';

export interface PgNamespaceOptions {
  /** Clock for completion records (tests). Default Date.now. */
  readonly now?: () => number;
  /** How long a completed upload still answers a repeated Complete. Default 24 h. */
  readonly completedTtlMs?: number;
  /** Connections this process keeps at most. Default 32. */
  readonly maxConnections?: number;
  /** ms to wait for a connection before answering ServiceUnavailable. Default 5 s. */
  readonly connectTimeoutMs?: number;
  /** ms a statement may run (or wait on a lock) before it is cancelled: ServiceUnavailable. Default 30 s. */
  readonly statementTimeoutMs?: number;
  readonly logger?: Logger;
}

export const DEFAULT_PG_SCHEMA = 'fdfs_s3';

/** Whether an s3.namespace value names a PostgreSQL database. */
export function isPostgresUrl(s: string): boolean {
  return /^postgres(ql)?:\/\//i.test(s);
}

export async function openPgNamespace(url: string, opts: PgNamespaceOptions = {}): Promise<Namespace> {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') || DEFAULT_PG_SCHEMA;
  // Passed to the server in the startup packet's options: a plain identifier only.
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    throw new FdfsError(
      Status.EINVAL,
      `s3.namespace: schema ${JSON.stringify(schema)} is not a plain identifier`,
    );
  }
  parsed.searchParams.delete('schema');
  const logger = opts.logger ?? silentLogger;
  const poolOptions = {
    url: parsed.toString(),
    schema,
    max: opts.maxConnections ?? 32,
    connectTimeoutMs: opts.connectTimeoutMs ?? 5000,
    statementTimeoutMs: opts.statementTimeoutMs ?? 30_000,
    logger,
  };
  const pool = openPool(poolOptions);
  const s: PgStore = {
    pool,
    now: opts.now ?? Date.now,
    completedTtlMs: opts.completedTtlMs ?? 24 * 3600_000,
  };
  try {
    await migrate(s, schema);
  } catch (err) {
    await pool.end();
    throw err;
  }
  let closed: Promise<void> | undefined;
  const buckets = new BucketCache({
    client: clientConfig(poolOptions),
    schema,
    logger,
    now: () => performance.now(),
  });
  await buckets.start();
  /** A bucket verb, then its name dropped from this gateway's cache (whatever the outcome). */
  const changing = <T>(name: string, verb: Promise<T>) => verb.finally(() => buckets.forget(name));
  const recordIntent = intentWriter(s);
  const putObject = objectWriter(s);
  const isReferenced = referenceChecker(s);
  return {
    createBucket: (b) => changing(b.name, createBucket(s, b)),
    getBucket: (name) => buckets.get(name, () => getBucket(s, name)),
    listBuckets: (owner) => listBuckets(s, owner),
    setBucketPublic: (name, pub) => changing(name, setBucketPublic(s, name, pub)),
    deleteBucket: (name) => changing(name, deleteBucket(s, name)),
    getObject: (bucket, key) => getObject(s, bucket, key),
    putObject,
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
    isReferenced,
    takeGarbage: (max) => takeGarbage(s, max),
    ackGarbage: (seqs) => ackGarbage(s, seqs),
    recordIntent,
    listIntents: (max) => listIntents(s, max),
    clearIntents: (ids) => clearIntents(s, ids),
    close: () => {
      closed ??= buckets.close().then(() => pool.end());
      return closed;
    },
  };
}
