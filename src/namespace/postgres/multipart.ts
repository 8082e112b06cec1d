/**
 * Multipart verbs of the PostgreSQL store: every upload and part lives in the database, so an
 * upload begun on one gateway is listed, continued and completed on any other. A part's insert
 * checks its upload through a foreign key (a key-share lock on the upload's row); complete and
 * abort lock that row for update, so a part racing them either lands before or sees no upload.
 */
import { FdfsError, Status } from '../../common/index.js';
import { checkKey } from '../lmdb-keys.js';
import type {
  CompletedUpload,
  ObjectRecord,
  PartRecord,
  UploadListQuery,
  UploadRecord,
  WriteCondition,
} from '../types.js';
import { missingParent, type PgStore, query, Retry, Rollback, type Sql, tx } from './db.js';
import { keySuccessor } from './list.js';
import { commitObject } from './objects.js';
import { allReferenced, applyRefs } from './refs.js';
import { type PartRow, partOf, UPLOAD_COLUMNS, type UploadRow, uploadOf, uploadValues } from './rows.js';

export async function createUpload(s: PgStore, u: UploadRecord): Promise<'ok' | 'no-bucket'> {
  checkKey(u.key);
  try {
    await query(
      s,
      `INSERT INTO uploads (${UPLOAD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      uploadValues(u),
    );
    return 'ok';
  } catch (err) {
    if (missingParent(err)) return 'no-bucket';
    throw err;
  }
}

export async function getUpload(s: PgStore, uploadId: string): Promise<UploadRecord | undefined> {
  const rows = await query<UploadRow>(s, `SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE upload_id = $1`, [
    uploadId,
  ]);
  return rows[0] && uploadOf(rows[0]);
}

export async function putPart(
  s: PgStore,
  p: PartRecord,
  cond?: Pick<WriteCondition, 'requireReferenced'>,
): Promise<'ok' | 'no-upload' | 'precondition-failed'> {
  const values = [p.uploadId, p.partNumber, p.fileId, p.size, p.etag, p.lastModified];
  return tx<'ok' | 'no-upload' | 'precondition-failed'>(s, async (c) => {
    // Key-share: parts of one upload go in side by side; complete and abort wait for them.
    const u = await c.query('SELECT 1 FROM uploads WHERE upload_id = $1 FOR KEY SHARE', [p.uploadId]);
    if (u.rowCount === 0) return 'no-upload';
    if (cond?.requireReferenced && !(await allReferenced(c, cond.requireReferenced)))
      return 'precondition-failed';
    const found = await c.query<{ file_id: string }>(
      'SELECT file_id FROM parts WHERE upload_id = $1 AND part_number = $2 FOR UPDATE',
      [p.uploadId, p.partNumber],
    );
    const old = found.rows[0];
    if (old) {
      await c.query(
        `UPDATE parts SET (file_id, size, etag, last_modified) = ($3, $4, $5, $6)
         WHERE upload_id = $1 AND part_number = $2`,
        values,
      );
    } else {
      const made = await c.query(
        `INSERT INTO parts (upload_id, part_number, file_id, size, etag, last_modified)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (upload_id, part_number) DO NOTHING`,
        values,
      );
      if (made.rowCount === 0) throw new Retry();
    }
    await applyRefs(c, [p], old ? [{ fileId: old.file_id }] : []);
    return 'ok';
  });
}

export async function listParts(
  s: PgStore,
  uploadId: string,
  afterPart: number,
  max: number,
): Promise<readonly PartRecord[]> {
  if (max <= 0) return [];
  const rows = await query<PartRow>(
    s,
    'SELECT * FROM parts WHERE upload_id = $1 AND part_number > $2 ORDER BY part_number LIMIT $3',
    [uploadId, Math.max(0, Math.min(Math.floor(afterPart), 2 ** 31 - 1)), Math.floor(max)],
  );
  return rows.map(partOf);
}

export async function listUploads(
  s: PgStore,
  bucket: string,
  q: UploadListQuery,
): Promise<readonly UploadRecord[]> {
  if (q.max <= 0) return [];
  const values: unknown[] = [bucket, q.prefix ?? '', Math.floor(q.max)];
  let where = 'bucket = $1 AND key >= $2';
  const end = q.prefix ? keySuccessor(q.prefix) : undefined;
  if (end !== undefined) where += ` AND key < $${values.push(end)}`;
  if (q.keyMarker !== undefined) {
    // Same key, later upload id; or, with no id marker, the first key after the marker.
    if (q.uploadIdMarker !== undefined) {
      where += ` AND (key, upload_id) > ($${values.push(q.keyMarker)}, $${values.push(q.uploadIdMarker)})`;
    } else where += ` AND key > $${values.push(q.keyMarker)}`;
  }
  const rows = await query<UploadRow>(
    s,
    `SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE ${where} ORDER BY key, upload_id LIMIT $3`,
    values,
  );
  return rows.map(uploadOf);
}

export async function completeUpload(
  s: PgStore,
  uploadId: string,
  rec: ObjectRecord,
  cond?: WriteCondition,
): Promise<'ok' | 'no-upload' | 'precondition-failed'> {
  checkKey(rec.key);
  const result = await tx<'ok' | 'no-upload' | 'elsewhere' | 'precondition-failed'>(s, async (c) => {
    const u = (
      await c.query<{ bucket: string; key: string }>(
        'SELECT bucket, key FROM uploads WHERE upload_id = $1 FOR UPDATE',
        [uploadId],
      )
    ).rows[0];
    if (!u) return 'no-upload';
    if (u.bucket !== rec.bucket || u.key !== rec.key) return 'elsewhere';
    // The upload's parts all lose their reference; those the object names gain one back.
    const parts = await c.query<{ file_id: string }>(
      'DELETE FROM parts WHERE upload_id = $1 RETURNING file_id',
      [uploadId],
    );
    const done = await commitObject(
      c,
      rec,
      cond,
      parts.rows.map((p) => ({ fileId: p.file_id })),
    );
    // A failed condition rolls back: the parts deleted above stay. (The bucket cannot be gone:
    // deleting it aborts this upload first, and the upload's row is locked.)
    if (done !== 'ok') throw new Rollback(done === 'no-bucket' ? 'no-upload' : done);
    await c.query('DELETE FROM uploads WHERE upload_id = $1', [uploadId]);
    const at = s.now();
    await c.query(
      `WITH expired AS (
         DELETE FROM completed WHERE upload_id IN
           (SELECT upload_id FROM completed WHERE completed_at <= $6 ORDER BY completed_at LIMIT 16)
       )
       INSERT INTO completed (upload_id, bucket, key, etag, completed_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (upload_id) DO UPDATE SET (bucket, key, etag, completed_at) = ($2, $3, $4, $5)`,
      [uploadId, rec.bucket, rec.key, rec.etag, at, at - s.completedTtlMs],
    );
    return 'ok';
  });
  if (result === 'elsewhere') {
    throw new FdfsError(Status.EINVAL, `upload ${uploadId} belongs to another key`, {
      detail: 'NoSuchUpload',
    });
  }
  return result;
}

export async function getCompleted(s: PgStore, uploadId: string): Promise<CompletedUpload | undefined> {
  const rows = await query<{
    upload_id: string;
    bucket: string;
    key: string;
    etag: string;
    completed_at: number;
  }>(s, 'SELECT * FROM completed WHERE upload_id = $1 AND completed_at > $2', [
    uploadId,
    s.now() - s.completedTtlMs,
  ]);
  const r = rows[0];
  return (
    r && { uploadId: r.upload_id, bucket: r.bucket, key: r.key, etag: r.etag, completedAt: r.completed_at }
  );
}

export async function abortUpload(s: PgStore, uploadId: string): Promise<boolean> {
  return tx(s, (c) => abortInTx(c, uploadId));
}

/** Inside a transaction: drops the upload and its parts; their files lose a reference. */
export async function abortInTx(c: Sql, uploadId: string): Promise<boolean> {
  const u = await c.query('SELECT 1 FROM uploads WHERE upload_id = $1 FOR UPDATE', [uploadId]);
  if (u.rowCount === 0) return false;
  const parts = await c.query<{ file_id: string }>(
    'DELETE FROM parts WHERE upload_id = $1 RETURNING file_id',
    [uploadId],
  );
  await applyRefs(
    c,
    [],
    parts.rows.map((p) => ({ fileId: p.file_id })),
  );
  await c.query('DELETE FROM uploads WHERE upload_id = $1', [uploadId]);
  return true;
}
