/**
 * Remote uploads whose size is unknown (multipart parts, chunked PUTs) wait in a temp file here:
 * the FastDFS upload command states the size before the first byte. Spooling was chosen over an
 * appender upload (create, append chunks, regenerate the name) because that leaves a half file in
 * the cluster when the client gives up or breaks a limit, needs three round trips and a storage
 * that allows appenders, and yields an appender-flagged name on storages without regenerate.
 * A spool file never outlives its request: removed on success and on every failure.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fail } from './errors.js';

const made = new Map<string, Promise<unknown>>();

export interface Spooled {
  readonly path: string;
  readonly size: number;
  remove(): Promise<void>;
}

/** The error past the limit: EFBIG by default; a front end with its own wording passes its own. */
export type TooLarge = (maxSize: number) => Error;
const tooLargeFile: TooLarge = (maxSize) => fail.tooLarge(`file is larger than the ${maxSize}-byte limit`);

/** Counts bytes through a pipeline and fails with `tooLarge` (EFBIG) past `maxSize`. */
export function limiter(
  maxSize: number,
  onBytes: (n: number) => void = () => {},
  tooLarge: TooLarge = tooLargeFile,
) {
  return async function* limit(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    let size = 0;
    for await (const c of chunks) {
      size += c.length;
      if (size > maxSize) throw tooLarge(maxSize);
      onBytes(c.length);
      yield c;
    }
  };
}

export async function spool(
  dir: string,
  body: Readable,
  maxSize: number,
  tooLarge: TooLarge = tooLargeFile,
): Promise<Spooled> {
  let ready = made.get(dir);
  if (!ready) {
    ready = mkdir(dir, { recursive: true });
    made.set(dir, ready);
  }
  await ready;
  const path = join(dir, `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}.part`);
  let size = 0;
  const remove = () => rm(path, { force: true });
  try {
    await pipeline(
      body,
      limiter(
        maxSize,
        (n) => {
          size += n;
        },
        tooLarge,
      ),
      createWriteStream(path, { flags: 'wx' }),
    );
  } catch (err) {
    await remove();
    throw err;
  }
  return { path, size, remove };
}

/** Clears spool files a crash left behind; called once at start. */
export async function clearSpool(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
}
