/**
 * Decoded records by the bytes they were decoded from: a read whose stored bytes are unchanged
 * returns the very same (frozen) record, so a hot key costs a byte comparison instead of a msgpack
 * decode and a copy, and callers may key derived data (the S3 answer headers) on the record itself.
 * Only bytes are trusted: a write from any process changes them, so nothing here goes stale.
 */
import type { Database } from 'lmdb';

interface Entry<V> {
  readonly k: Buffer;
  readonly raw: Buffer;
  readonly value: V;
}

const MAX_ENTRIES = 4096;

export class RecordMemo<V, R> {
  private readonly entries = new Map<string, Entry<R>>();

  constructor(private readonly db: Database<V, Buffer>) {}

  /**
   * The record under the lmdb key `keyOf()` (named `id` here), or undefined; `make` builds it
   * from the decoded value (frozen here, as it is shared).
   */
  get(id: string, keyOf: () => Buffer, make: (value: V) => R): R | undefined {
    const hit = this.entries.get(id);
    const k = hit?.k ?? keyOf();
    // lmdb-js's shared read buffer, valid until the next read: compared in place, as getBinary's
    // copy (an allocation on every read of every request) is needed only when the bytes changed.
    const now = this.db.getBinaryFast(k) as Uint8Array | undefined;
    if (now === undefined) {
      if (hit) this.entries.delete(id);
      return undefined;
    }
    // `length` is the value's; the shared buffer's byteLength is its capacity.
    const size = now.length;
    if (hit && hit.raw.length === size && hit.raw.compare(now, 0, size) === 0) return hit.value;
    const raw = Buffer.copyBytesFrom(now, 0, size);
    // The same read snapshot as getBinaryFast's (lmdb-js renews it once per event turn).
    const stored = this.db.get(k);
    if (stored === undefined) return undefined;
    const value = Object.freeze(make(stored));
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(id, { k, raw, value });
    return value;
  }
}
