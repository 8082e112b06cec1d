/** Upload intents of the lmdb store: what an S3 upload is about to store, until it commits. */
import { u48, utf8 } from './lmdb-keys.js';
import { type LmdbStore, seqOf, write } from './lmdb-store.js';
import type { UploadIntent } from './types.js';

const validIds = (ids: readonly number[]) =>
  ids.filter((n) => Number.isSafeInteger(n) && n > 0 && n < 2 ** 48);

export function recordIntent(
  s: LmdbStore,
  i: Omit<UploadIntent, 'id'>,
  finished: readonly number[] = [],
): Promise<number> {
  // Checked before the transaction: u48() throws, and a throw mid-transaction keeps its writes.
  const done = validIds(finished);
  const rec = { group: i.group, size: i.size, crc32: i.crc32, at: i.at };
  return write(s, () => {
    for (const id of done) s.intents.removeSync(u48(id));
    const seqKey = utf8('intent-seq');
    const id = (s.meta.get(seqKey) ?? 0) + 1;
    s.meta.putSync(seqKey, id);
    s.intents.putSync(u48(id), rec);
    return id;
  });
}

export async function listIntents(s: LmdbStore, max: number): Promise<readonly UploadIntent[]> {
  if (max <= 0) return [];
  return Array.from(s.intents.getRange({ limit: max }), ({ key, value }) => ({ id: seqOf(key), ...value }));
}

export function clearIntents(s: LmdbStore, ids: readonly number[]): Promise<void> {
  const valid = validIds(ids);
  if (valid.length === 0) return Promise.resolve();
  return write(s, () => {
    for (const id of valid) s.intents.removeSync(u48(id));
  });
}
