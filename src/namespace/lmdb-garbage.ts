/** The garbage queue of the lmdb store: files no object or part names any more, oldest first. */
import { u48, utf8 } from './lmdb-keys.js';
import { type LmdbStore, seqOf, write } from './lmdb-store.js';
import type { GarbageEntry } from './types.js';

export async function takeGarbage(s: LmdbStore, max: number): Promise<readonly GarbageEntry[]> {
  if (max <= 0) return [];
  return Array.from(s.garbage.getRange({ limit: max }), ({ key, value }) => ({
    seq: seqOf(key),
    fileId: value,
  }));
}

export function ackGarbage(s: LmdbStore, seqs: readonly number[]): Promise<void> {
  // Checked before the transaction: u48() throws on these, and a throw mid-transaction keeps its writes.
  const valid = seqs.filter((n) => Number.isSafeInteger(n) && n > 0 && n < 2 ** 48);
  return write(s, () => {
    for (const seq of valid) {
      const k = u48(seq);
      const fileId = s.garbage.get(k);
      if (fileId === undefined) continue;
      s.garbage.removeSync(k);
      const byFile = utf8(fileId);
      if (s.garbageByFile.get(byFile) === seq) s.garbageByFile.removeSync(byFile);
    }
  });
}

export async function isReferenced(s: LmdbStore, fileId: string): Promise<boolean> {
  const k = utf8(fileId);
  return (s.refs.get(k) ?? 0) > 0 || s.borrowed.get(k) === true;
}
