import * as zlib from 'node:zlib';

/**
 * CRC-32/IEEE as FastDFS puts it in file names (libfastcommon ≥ 1.0.38 computes the standard
 * value; older releases shifted a signed int and produced different CRCs for the same bytes).
 * node:zlib does the work natively; it exists from Node 20.15.
 */
export function crc32(data: Uint8Array, prev = 0): number {
  return zlib.crc32(data, prev) >>> 0;
}

/** Running CRC over a stream of chunks; `value` is valid after any number of updates. */
export class Crc32 {
  #value = 0;

  update(buf: Uint8Array): this {
    this.#value = crc32(buf, this.#value);
    return this;
  }

  get value(): number {
    return this.#value;
  }
}
