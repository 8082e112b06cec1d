/**
 * Large downloads read their file in 1 MB chunks while few such chunks are out, 256 KB ones past
 * that budget (or hand the rest to sendfile): the bytes sent must be the file's whatever the
 * path and mix, and the budget must hold.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BIG_CHUNK_BYTES, CHUNK_BYTES, giveChunk, takeBigChunk } from '../src/storage/fd-io.js';
import { NATIVE_PATHS, nodeForTests } from './helpers/native-paths.js';

it('hands out at most 32 big chunks at once, then 256 KB ones, and big ones again once given back', () => {
  const big = Array.from({ length: 32 }, () => takeBigChunk());
  expect(big.every((b) => b.length === BIG_CHUNK_BYTES)).toBe(true);
  const small = takeBigChunk();
  expect(small.length).toBe(CHUNK_BYTES);
  giveChunk(small);
  expect(takeBigChunk().length).toBe(CHUNK_BYTES);
  giveChunk(big.pop() as Buffer);
  const again = takeBigChunk();
  expect(again.length).toBe(BIG_CHUNK_BYTES);
  for (const b of [...big, again]) giveChunk(b);
  expect(takeBigChunk().length).toBe(BIG_CHUNK_BYTES);
});

// Both ways a large download's rest can go: sendfile (the native addon, when built) and
// pread + write in 1 MB / 256 KB chunks (FDFS_NATIVE=0, or no addon).
describe.each(NATIVE_PATHS)('$path', ({ env }) => {
  const run = nodeForTests({ env });

  it('sends every byte of large files, whole and in ranges, many at once', async () => {
    const sizes = [BIG_CHUNK_BYTES * 3 + 12345, CHUNK_BYTES + 1, BIG_CHUNK_BYTES * 2];
    const files = await Promise.all(
      sizes.map(async (n) => {
        const data = randomBytes(n);
        return { data, id: await run.client.upload(data, { ext: 'bin' }) };
      }),
    );
    // 40 downloads at once: more big chunks than the budget, so both sizes are in play.
    const jobs = Array.from({ length: 40 }, (_, i) => files[i % files.length] as (typeof files)[number]);
    const got = await Promise.all(jobs.map((f) => run.client.downloadBuffer(f.id)));
    expect(got.every((g, i) => g.equals((jobs[i] as (typeof files)[number]).data))).toBe(true);
    const f = files[0] as (typeof files)[number];
    const from = CHUNK_BYTES - 7;
    const part = await run.client.downloadBuffer(f.id, { offset: from, length: BIG_CHUNK_BYTES + 99 });
    expect(part.equals(f.data.subarray(from, from + BIG_CHUNK_BYTES + 99))).toBe(true);
  }, 60_000);
});
