/**
 * Bucket and object verbs of the PostgreSQL store. A write locks the key's row (FOR UPDATE) before
 * it checks its condition, so If-None-Match and If-Match hold against every other gateway: the
 * second of two racing writers waits for the first to commit, then sees its object. A key not yet
 * there has no row to lock; two writers creating it both insert, one of them finds the other's row
 * (ON CONFLICT DO NOTHING) and runs again, now with a row to lock.
 */
import { FdfsError, Status } from '../../common/index.js';
import { checkKey } from '../lmdb-keys.js';
import type { BucketRecord, ObjectPart, ObjectRecord, WriteCondition } from '../types.js';
import { missingParent, type PgStore, query, Retry, Rollback, type Sql, tx } from './db.js';
import { abortInTx } from './multipart.js';
import { allReferenced, applyRefs, claimUnknown } from './refs.js';
import { type BucketRow, bucketOf, OBJECT_COLUMNS, type ObjectRow, objectOf, objectValues } from './rows.js';

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

export async function putObject(
  s: PgStore,
  rec: ObjectRecord,
  cond?: WriteCondition,
): Promise<'ok' | 'no-bucket' | 'precondition-failed'> {
  checkKey(rec.key);
  return tx(s, (c) => commitObject(c, rec, cond)).catch((err: unknown) => {
    if (missingParent(err)) return 'no-bucket' as const;
    throw err;
  });
}

export async function deleteObject(s: PgStore, bucket: string, key: string): Promise<boolean> {
  return tx(s, async (c) => {
    const gone = await c.query<{ parts: ObjectPart[] }>(
      'DELETE FROM objects WHERE bucket = $1 AND key = $2 RETURNING parts',
      [bucket, key],
    );
    const old = gone.rows[0];
    if (!old) return false;
    await applyRefs(c, [], old.parts);
    return true;
  });
}

/**
 * Inside a transaction: the object's row locked, the condition checked, the row written, and the
 * references moved from the old parts to the new ones. `alsoLost`: more files that lose a
 * reference in the same commit (the parts of a completed upload).
 */
export async function commitObject(
  c: Sql,
  rec: ObjectRecord,
  cond: WriteCondition | undefined,
  alsoLost: readonly Pick<ObjectPart, 'fileId'>[] = [],
): Promise<'ok' | 'no-bucket' | 'precondition-failed'> {
  const found = await c.query<{ etag: string; parts: ObjectPart[] }>(
    'SELECT etag, parts FROM objects WHERE bucket = $1 AND key = $2 FOR UPDATE',
    [rec.bucket, rec.key],
  );
  const old = found.rows[0];
  if (!old && !(await bucketExists(c, rec.bucket))) return 'no-bucket';
  if (cond?.ifNoneMatch === '*' && old) return 'precondition-failed';
  if (cond?.ifMatch !== undefined && old?.etag !== cond.ifMatch) return 'precondition-failed';
  if (cond?.requireReferenced && !(await allReferenced(c, cond.requireReferenced)))
    return 'precondition-failed';
  // Last: it writes, so its refusal rolls the transaction back.
  if (cond?.requireUnknown && !(await claimUnknown(c, cond.requireUnknown))) {
    throw new Rollback('precondition-failed' as const);
  }
  const values = [rec.bucket, rec.key, ...objectValues(rec)];
  if (old) {
    await c.query(
      `UPDATE objects SET (${OBJECT_COLUMNS}) = ($3, $4, $5, $6, $7, $8, $9, $10)
       WHERE bucket = $1 AND key = $2`,
      values,
    );
  } else {
    if ((await insertObject(c, values)) === 'raced') throw new Retry();
  }
  await applyRefs(c, rec.parts, [...(old?.parts ?? []), ...alsoLost]);
  return 'ok';
}

async function bucketExists(c: Sql, bucket: string): Promise<boolean> {
  return ((await c.query('SELECT 1 FROM buckets WHERE name = $1', [bucket])).rowCount ?? 0) > 0;
}

async function insertObject(c: Sql, values: unknown[]): Promise<'ok' | 'raced'> {
  const made = await c.query(
    `INSERT INTO objects (bucket, key, ${OBJECT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (bucket, key) DO NOTHING`,
    values,
  );
  return made.rowCount === 1 ? 'ok' : 'raced';
}
