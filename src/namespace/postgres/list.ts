/**
 * ListObjects on PostgreSQL. Without a delimiter: one range scan of the (bucket, key) index in
 * "C" order. With one: a skip-scan, as a recursive query in one round trip: each step is one index
 * probe for the first key at or after the previous step's `list_next`, which for a key that rolls
 * up into a common prefix is that prefix's successor, so the keys under a prefix are never read.
 */
import type { ListPage, ListQuery, ObjectRecord } from '../types.js';
import { type PgStore, query } from './db.js';
import { OBJECT_COLUMNS, type ObjectRow, objectOf } from './rows.js';

/** The smallest string above every string that starts with `p`, by code point; undefined: none. */
export function keySuccessor(p: string): string | undefined {
  const cps = Array.from(p);
  while (cps.length > 0) {
    const c = (cps.pop() as string).codePointAt(0) as number;
    if (c < 0x10ffff) return cps.join('') + String.fromCodePoint(c + 1 === 0xd800 ? 0xe000 : c + 1);
  }
  return undefined;
}

/** Rows one statement asks for: a page, one more to tell truncation, one a marker may drop. */
const extra = 2;

export async function listObjects(s: PgStore, bucket: string, q: ListQuery): Promise<ListPage> {
  if (q.maxKeys <= 0) return { objects: [], prefixes: [], truncated: false };
  const prefix = q.prefix ?? '';
  const end = prefix === '' ? undefined : keySuccessor(prefix);
  if (!q.delimiter) return plainList(s, bucket, prefix, end, q);
  const delim = q.delimiter;
  const skip = Array.from(prefix).length;
  const objects: ObjectRecord[] = [];
  const prefixes: string[] = [];
  let last: string | undefined;
  // JS compares strings by UTF-16 units, not by code points: compare UTF-8 bytes instead.
  const afterBuf = q.after === undefined ? undefined : Buffer.from(q.after);
  let start: string | null =
    q.after !== undefined && Buffer.compare(Buffer.from(q.after), Buffer.from(prefix)) >= 0
      ? `${q.after}\u0001`
      : prefix;
  while (start !== null) {
    const limit = q.maxKeys - objects.length - prefixes.length + extra;
    const rows: (ObjectRow & { nxt: string | null; cp: boolean })[] = await query(
      s,
      `WITH RECURSIVE walk (n, key) AS (
         SELECT 1, (SELECT key FROM objects WHERE bucket = $1 AND key >= $2 ${end ? 'AND key < $6' : ''}
                    ORDER BY key LIMIT 1)
         UNION ALL
         SELECT w.n + 1, (SELECT o.key FROM objects o
                          WHERE o.bucket = $1 AND o.key >= list_next(w.key, $3, $4) ${end ? 'AND o.key < $6' : ''}
                          ORDER BY o.key LIMIT 1)
         FROM walk w WHERE w.key IS NOT NULL AND w.n < $5
       )
       SELECT w.n, w.key, list_next(w.key, $3, $4) AS nxt,
              strpos(substr(w.key, $3 + 1), $4) > 0 AS cp, ${OBJECT_COLUMNS.split(', ')
                .map((col) => `o.${col}`)
                .join(', ')}
       FROM walk w LEFT JOIN objects o
         ON o.bucket = $1 AND o.key = w.key AND strpos(substr(w.key, $3 + 1), $4) = 0
       WHERE w.key IS NOT NULL ORDER BY w.n`,
      [bucket, start, skip, delim, limit, ...(end ? [end] : [])],
    );
    for (const r of rows) {
      const entry = r.cp ? commonPrefix(r.key, skip, delim) : r.key;
      // A prefix at or before the marker was the last entry of an earlier page.
      if (afterBuf && Buffer.compare(Buffer.from(entry), afterBuf) <= 0) continue;
      if (objects.length + prefixes.length >= q.maxKeys) return page(objects, prefixes, true, last);
      last = entry;
      if (r.cp) prefixes.push(entry);
      else objects.push(objectOf(bucket, r));
    }
    start = rows.length < limit ? null : (rows.at(-1)?.nxt ?? null);
  }
  return page(objects, prefixes, false, last);
}

function commonPrefix(key: string, skip: number, delim: string): string {
  const cps = Array.from(key);
  const head = cps.slice(0, skip).join('');
  const rest = cps.slice(skip).join('');
  return head + rest.slice(0, rest.indexOf(delim) + delim.length);
}

function page(
  objects: ObjectRecord[],
  prefixes: string[],
  truncated: boolean,
  last: string | undefined,
): ListPage {
  return { objects, prefixes, truncated, ...(last !== undefined && { last }) };
}

async function plainList(
  s: PgStore,
  bucket: string,
  prefix: string,
  end: string | undefined,
  q: ListQuery,
): Promise<ListPage> {
  const values: unknown[] = [bucket, prefix, q.maxKeys + 1];
  let where = 'bucket = $1 AND key >= $2';
  if (q.after !== undefined) where += ` AND key > $${values.push(q.after)}`;
  if (end !== undefined) where += ` AND key < $${values.push(end)}`;
  const rows = await query<ObjectRow>(
    s,
    `SELECT key, ${OBJECT_COLUMNS} FROM objects WHERE ${where} ORDER BY key LIMIT $3`,
    values,
  );
  const truncated = rows.length > q.maxKeys;
  const objects = rows.slice(0, q.maxKeys).map((r) => objectOf(bucket, r));
  return page(objects, [], truncated, objects.at(-1)?.key);
}
