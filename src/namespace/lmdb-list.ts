/**
 * ListObjects as a range scan over `<bucket>\0<key>`. With a delimiter, a key that rolls up into a
 * common prefix ends the current cursor and the scan seeks to the prefix's byte successor, so a
 * page costs about one seek per returned entry, never a walk over the keys under a prefix.
 */
import { after, bucketBase, maxBuf, successor, utf8 } from './lmdb-keys.js';
import type { LmdbStore } from './lmdb-store.js';
import type { ListPage, ListQuery, ObjectRecord } from './types.js';

export async function listObjects(s: LmdbStore, bucket: string, q: ListQuery): Promise<ListPage> {
  const base = bucketBase(bucket);
  const prefix = utf8(q.prefix ?? '');
  const lower = Buffer.concat([base, prefix]);
  const end = successor(lower);
  const afterKey = q.after !== undefined ? Buffer.concat([base, utf8(q.after)]) : undefined;
  const delim = q.delimiter ? utf8(q.delimiter) : undefined;
  const objects: ObjectRecord[] = [];
  const prefixes: string[] = [];
  let last: string | undefined;
  let truncated = false;
  let start: Buffer = afterKey ? maxBuf(lower, after(afterKey)) : lower;
  let count = 0;
  // Each pass is one cursor from `start`; a pass ends at the range's end, at a full page, or at a
  // common prefix after which the next pass starts.
  scan: for (;;) {
    let seekTo: Buffer | undefined;
    for (const { key, value } of s.objects.getRange({ start, ...(end && { end }) })) {
      const cut = delim ? key.indexOf(delim, lower.length) : -1;
      if (cut >= 0) {
        const cp = key.subarray(0, cut + (delim?.length ?? 0));
        seekTo = successor(cp);
        // A prefix at or before `after` was returned on an earlier page: skip it silently.
        if (afterKey && Buffer.compare(cp, afterKey) <= 0) break;
        if (count >= q.maxKeys) {
          truncated = q.maxKeys > 0;
          break scan;
        }
        last = cp.subarray(base.length).toString('utf8');
        prefixes.push(last);
        count++;
        break;
      }
      if (count >= q.maxKeys) {
        truncated = q.maxKeys > 0;
        break scan;
      }
      last = key.subarray(base.length).toString('utf8');
      objects.push({ bucket, key: last, ...value });
      count++;
    }
    if (!seekTo) break;
    start = seekTo;
  }
  return { objects, prefixes, truncated, ...(last !== undefined && { last }) };
}
