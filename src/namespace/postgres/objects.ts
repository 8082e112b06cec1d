/**
 * Bucket and object verbs of the PostgreSQL store. A write (put_object in functions.ts, one round
 * trip) locks the key's row (FOR UPDATE) before it checks its condition, so If-None-Match and
 * If-Match hold against every other gateway: the second of two racing writers waits for the first
 * to commit, then sees its object. A key not yet there has no row to lock; two writers creating it
 * both insert, one of them finds the other's row (ON CONFLICT DO NOTHING) and looks again, now with
 * a row to lock.
 */
import { FdfsError, Status } from '../../common/index.js';
import { checkKey } from '../lmdb-keys.js';
import type { BucketRecord, ObjectPart, ObjectRecord, WriteCondition } from '../types.js';
import { Batcher, Failed } from './batch.js';
import {
  missingParent,
  type PgStore,
  query,
  Retry,
  refusedClaim,
  refusedStatement,
  type Sql,
  statement,
  tx,
} from './db.js';
import { abortInTx } from './multipart.js';
import { type BucketRow, bucketOf, OBJECT_COLUMNS, type ObjectRow, objectJson, objectOf } from './rows.js';

export async function createBucket(s: PgStore, b: BucketRecord): Promise<'created' | 'owned' | 'taken'> {
  return tx(s, async (c) => {
    const made = await c.query(
      `INSERT INTO buckets (name, owner, created_at, grp, public) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (name) DO NOTHING`,
      [b.name, b.owner, b.createdAt, b.group ?? null, b.public],
    );
    if (made.rowCount === 1) return 'created';
    const old = await c.query<{ owner: string }>('SELECT owner FROM buckets WHERE name = $1', [b.name]);
    // Deleted between the insert and the read: try again.
    if (!old.rows[0]) throw new Retry();
    return old.rows[0].owner === b.owner ? 'owned' : 'taken';
  });
}

export async function getBucket(s: PgStore, name: string): Promise<BucketRecord | undefined> {
  const rows = await query<BucketRow>(s, 'SELECT * FROM buckets WHERE name = $1', [name]);
  return rows[0] && bucketOf(rows[0]);
}

export async function listBuckets(s: PgStore, owner: string): Promise<readonly BucketRecord[]> {
  return (await query<BucketRow>(s, 'SELECT * FROM buckets WHERE owner = $1 ORDER BY name', [owner])).map(
    bucketOf,
  );
}

export async function setBucketPublic(s: PgStore, name: string, pub: boolean): Promise<void> {
  const rows = await query(s, 'UPDATE buckets SET public = $2 WHERE name = $1 RETURNING name', [name, pub]);
  if (rows.length === 0)
    throw new FdfsError(Status.ENOENT, `no bucket named ${name}`, { detail: 'NoSuchBucket' });
}

export async function deleteBucket(s: PgStore, name: string): Promise<'deleted' | 'missing' | 'not-empty'> {
  return tx(s, async (c) => {
    // Locked first: a write into the bucket (its foreign key check) waits for this, or this for it.
    const b = await c.query('SELECT 1 FROM buckets WHERE name = $1 FOR UPDATE', [name]);
    if (b.rowCount === 0) return 'missing';
    const any = await c.query('SELECT 1 FROM objects WHERE bucket = $1 LIMIT 1', [name]);
    if (any.rowCount !== 0) return 'not-empty';
    const open = await c.query<{ upload_id: string }>(
      'SELECT upload_id FROM uploads WHERE bucket = $1 ORDER BY upload_id',
      [name],
    );
    for (const u of open.rows) await abortInTx(c, u.upload_id);
    await c.query('DELETE FROM buckets WHERE name = $1', [name]);
    return 'deleted';
  });
}

export async function getObject(s: PgStore, bucket: string, key: string): Promise<ObjectRecord | undefined> {
  const rows = await query<ObjectRow>(
    s,
    `SELECT key, ${OBJECT_COLUMNS} FROM objects WHERE bucket = $1 AND key = $2`,
    [bucket, key],
  );
  return rows[0] && objectOf(bucket, rows[0]);
}

type PutResult = 'ok' | 'no-bucket' | 'precondition-failed';

export async function putObject(s: PgStore, rec: ObjectRecord, cond?: WriteCondition): Promise<PutResult> {
  checkKey(rec.key);
  const rows = await statement<{ r: PutResult }>(s, PUT, putValues(rec, cond, [])).catch(putRefusal);
  return Array.isArray(rows) ? (rows[0]?.r ?? 'precondition-failed') : rows;
}

interface PutInput {
  readonly rec: ObjectRecord;
  readonly cond: WriteCondition | undefined;
}

const PUT_BATCH = 256;

/**
 * putObject of one gateway. Plain writes that arrive together (no shared or borrowed file to
 * check) go in one statement, put_objects: one round trip and one commit, whose WAL flush they
 * share (batch.ts). New keys of new files go in two inserts; any other batch is the same
 * put_object as alone, one after the other in one transaction (functions.ts). Either way keys
 * are locked in (bucket, key) order, the order every gateway uses, so two batches never wait for
 * each other in a circle; two writes of one key keep their order of arrival.
 */
export function objectWriter(s: PgStore): (rec: ObjectRecord, cond?: WriteCondition) => Promise<PutResult> {
  const batcher = new Batcher<PutInput, PutResult>((batch) => putBatch(s, batch), PUT_BATCH);
  return async (rec, cond) => {
    checkKey(rec.key);
    if (cond?.requireReferenced !== undefined || cond?.requireUnknown !== undefined)
      return putObject(s, rec, cond);
    return batcher.add({ rec, cond });
  };
}

const byKey = (a: PutInput, b: PutInput) =>
  a.rec.bucket < b.rec.bucket
    ? -1
    : a.rec.bucket > b.rec.bucket
      ? 1
      : a.rec.key < b.rec.key
        ? -1
        : a.rec.key > b.rec.key
          ? 1
          : 0;

async function putBatch(s: PgStore, batch: readonly PutInput[]): Promise<(PutResult | Failed)[]> {
  const only = batch.length === 1 ? batch[0] : undefined;
  if (only) return [await putObject(s, only.rec, only.cond)];
  // Array.prototype.sort is stable: writes of one key stay in arrival order.
  const order = [...batch].sort(byKey);
  let results: PutResult[];
  try {
    const rows = await statement<{ r: PutResult[] }>(s, PUT_MANY, [
      order.map((p) => p.rec.bucket),
      order.map((p) => p.rec.key),
      order.map((p) => objectJson(p.rec)),
      order.map((p) => p.cond?.ifNoneMatch === '*'),
      order.map((p) => p.cond?.ifMatch ?? null),
    ]);
    results = rows[0]?.r ?? [];
  } catch (err) {
    // One write the database refuses (its bucket deleted meanwhile, a U+0000) rolls the whole
    // statement back: each then goes alone and gets its own answer.
    if (!refusedStatement(err)) throw err;
    return Promise.all(batch.map((p) => putObject(s, p.rec, p.cond).catch((e: unknown) => new Failed(e))));
  }
  const of = new Map(order.map((p, i) => [p, results[i] ?? 'precondition-failed']));
  return batch.map((p) => of.get(p) ?? 'precondition-failed');
}

const PUT_MANY = 'SELECT put_objects($1::text[], $2::text[], $3::jsonb[], $4::boolean[], $5::text[]) AS r';

export async function deleteObject(s: PgStore, bucket: string, key: string): Promise<boolean> {
  const rows = await statement<{ r: boolean }>(s, 'SELECT delete_object($1, $2) AS r', [bucket, key]);
  return rows[0]?.r === true;
}

/**
 * Inside a transaction: put_object (functions.ts): the key's row locked, the condition checked, the
 * row written, the references moved from the old parts to the new ones. `alsoLost`: more files
 * losing a reference in the same commit (the parts of a completed upload).
 */
export async function commitObject(
  c: Sql,
  rec: ObjectRecord,
  cond: WriteCondition | undefined,
  alsoLost: readonly Pick<ObjectPart, 'fileId'>[] = [],
): Promise<PutResult> {
  checkKey(rec.key);
  const rows = await c.query<{ r: PutResult }>(PUT, putValues(rec, cond, alsoLost));
  return rows.rows[0]?.r ?? 'precondition-failed';
}

const PUT = 'SELECT put_object($1, $2, $3::jsonb, $4, $5, $6::text[], $7::text[], $8::text[]) AS r';

function putValues(
  rec: ObjectRecord,
  cond: WriteCondition | undefined,
  alsoLost: readonly Pick<ObjectPart, 'fileId'>[],
) {
  return [
    rec.bucket,
    rec.key,
    objectJson(rec),
    cond?.ifNoneMatch === '*',
    cond?.ifMatch ?? null,
    cond?.requireReferenced ?? null,
    cond?.requireUnknown ?? null,
    alsoLost.map((p) => p.fileId),
  ];
}

/** A bucket deleted between put_object's check and its insert; a refused requireUnknown claim. */
export function putRefusal(err: unknown): PutResult {
  if (missingParent(err)) return 'no-bucket';
  if (refusedClaim(err)) return 'precondition-failed';
  throw err;
}
