import { Buffer } from 'node:buffer';
import { invalid } from './validate.js';

/**
 * P.J. Weinberger hash with C `int` semantics, as libfastcommon's PJWHash: JS bitwise ops are
 * int32 and `>>` sign-extends like the C compiler does, which matters for bits 8..27.
 */
export function pjwHash(s: string): number {
  let h = 0;
  for (const byte of Buffer.from(s, 'utf8')) {
    h = ((h << 4) + byte) | 0;
    const top = h & 0xf0000000;
    if (top !== 0) h = (h ^ (top >> 24)) & 0x0fffffff;
  }
  return h;
}

/** `file_distribute_path_mode=1`: the dirs follow from the 27-char part of the name. */
export function randomSubdirs(base64Part: string, subdirCount: number): { high: number; low: number } {
  if (!Number.isInteger(subdirCount) || subdirCount < 1 || subdirCount > 256) {
    invalid(`subdir count must be 1..256, got ${subdirCount}`);
  }
  const n = pjwHash(base64Part) % 0x10000;
  return { high: ((n >> 8) & 0xff) % subdirCount, low: (n & 0xff) % subdirCount };
}
