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
  UploadPage,
  UploadRecord,
  WriteCondition,
} from '../types.js';
import { missingParent, type PgStore, query, Retry, Rollback, refusedClaim, type Sql, tx } from './db.js';
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

/** Rows one statement asks for beyond the page: one to tell truncation, one a marker may drop. */
const EXTRA_ROWS = 2;

/**
 * Uploads by key then id. Delimited, a key that rolls up into a common prefix ends the statement
 * and the next one starts at the prefix's successor, so the uploads under a prefix are not read.
 */
export async function listUploads(s: PgStore, bucket: string, q: UploadListQuery): Promise<UploadPage> {
  const uploads: UploadRecord[] = [];
  const prefixes: string[] = [];
  if (q.max <= 0) return { uploads, prefixes, truncated: false };
  const prefix = q.prefix ?? '';
  const end = prefix ? keySuccessor(prefix) : undefined;
  const skip = Array.from(prefix).length;
  const marker = q.keyMarker === undefined ? undefined : Buffer.from(q.keyMarker);
  // Where the next statement starts: after (key, id), after every upload of key, or at key.
  let from: { key: string; id?: string; op: '>' | '>=' } =
    q.keyMarker === undefined
      ? { key: prefix, op: '>=' }
      : { key: q.keyMarker, op: '>', ...(q.uploadIdMarker !== undefined && { id: q.uploadIdMarker }) };
  let next: UploadPage['next'];
  for (;;) {
    const limit = q.max - uploads.length - prefixes.length + EXTRA_ROWS;
    const values: unknown[] = [bucket, prefix, limit];
    let where = 'bucket = $1 AND key >= $2';
    if (end !== undefined) where += ` AND key < $${values.push(end)}`;
    where +=
      from.id === undefined
        ? ` AND key ${from.op} $${values.push(from.key)}`
        : ` AND (key, upload_id) > ($${values.push(from.key)}, $${values.push(from.id)})`;
    const rows = await query<UploadRow>(
      s,
      `SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE ${where} ORDER BY key, upload_id LIMIT $3`,
      values,
    );
    let seek: string | undefined;
    for (const r of rows) {
      const u = uploadOf(r);
      const cp = q.delimiter ? commonPrefixOf(u.key, skip, q.delimiter) : undefined;
      if (cp !== undefined) {
        seek = cp;
        // A prefix at or before the key marker was listed on an earlier page.
        if (marker && Buffer.compare(Buffer.from(cp), marker) <= 0) break;
        if (uploads.length + prefixes.length >= q.max)
          return { uploads, prefixes, truncated: true, ...(next && { next }) };
        prefixes.push(cp);
        next = { keyMarker: cp };
        break;
      }
      if (uploads.length + prefixes.length >= q.max)
        return { uploads, prefixes, truncated: true, ...(next && { next }) };
      uploads.push(u);
      next = { keyMarker: u.key, uploadIdMarker: u.uploadId };
    }
    if (seek !== undefined) {
      const after = keySuccessor(seek);
      if (after === undefined) break;
      from = { key: after, op: '>=' };
      continue;
    }
    const last = rows.at(-1);
    if (rows.length < limit || !last) break;
    from = { key: last.key, id: last.upload_id, op: '>' };
  }
  return { uploads, prefixes, truncated: false };
}

/** The common prefix `key` rolls up into: up to and including the first delimiter past `skip` code points. */
function commonPrefixOf(key: string, skip: number, delim: string): string | undefined {
  const cps = Array.from(key);
  const rest = cps.slice(skip).join('');
  const at = rest.indexOf(delim);
  return at < 0 ? undefined : cps.slice(0, skip).join('') + rest.slice(0, at + delim.length);
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
  }).catch((err: unknown) => {
    // A requireUnknown refused inside put_object: the whole transaction rolled back.
    if (refusedClaim(err)) return 'precondition-failed' as const;
    throw err;
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
