/**
 * Bodies of unknown length bound for a remote storage wait in a temp file: the FastDFS upload
 * command states the size before the first byte. A spool file never outlives its request.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { s3Error } from './errors.js';

export interface Spooled {
  readonly path: string;
  readonly size: number;
  remove(): Promise<void>;
}

/** Counts bytes through a pipeline; past `max` it fails with EntityTooLarge. */
export function limiter(max: number, onBytes: (n: number) => void = () => {}) {
  return async function* limit(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    let size = 0;
    for await (const c of chunks) {
      size += c.length;
      if (size > max)
        throw s3Error(
          'EntityTooLarge',
          `Your proposed upload exceeds the maximum allowed size (${max} bytes).`,
        );
      onBytes(c.length);
      yield c;
    }
  };
}

export async function spool(dir: string, body: Readable, max: number): Promise<Spooled> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}.part`);
  let size = 0;
  const remove = () => rm(path, { force: true });
  try {
    await pipeline(
      body,
      limiter(max, (n) => {
        size += n;
      }),
      createWriteStream(path, { flags: 'wx' }),
    );
  } catch (err) {
    await remove();
    throw err;
  }
  return { path, size, remove };
}

/** Removes spool files a crash left behind; called once at start. */
export async function clearSpool(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
}
