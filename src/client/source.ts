/** What callers can upload from, turned into "size + a way to open a stream" (sizes go first on the wire). */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { Readable } from 'node:stream';
import { FdfsError, Status, toStatus } from '../common/index.js';
import { validateExt } from '../fileid/index.js';
import { FILE_EXT_NAME_MAX_LEN } from '../protocol/index.js';

/**
 * A Buffer, a local file path, or a stream whose exact size is known up front: `{ stream, size }`,
 * or a Readable with `size` given beside it (the wire announces the size before the bytes).
 */
export type UploadSource =
  | Uint8Array
  | string
  | Readable
  | { readonly stream: Readable; readonly size: number };

export interface Content {
  readonly size: number;
  /** Opens the bytes; a fresh stream per call when `replayable`, else only once. */
  open(): Readable;
  /** True when open() can be called again (for a retry on another connection). */
  readonly replayable: boolean;
  /** The extension of a path source (≤ 6 chars, else ''), '' for the others. */
  readonly pathExt: string;
}

const EXT_RE = /^[A-Za-z0-9_.-]*$/;

/** The extension FastDFS' tools take from a local file name: up to 6 chars after the last dot. */
export function extOfPath(path: string): string {
  const ext = extname(path).slice(1);
  return ext.length <= FILE_EXT_NAME_MAX_LEN && EXT_RE.test(ext) && !ext.endsWith('-m') ? ext : '';
}

/** Accepts `png` or `.png`; the storage would refuse more than 6 chars or odd ones with EINVAL. */
export function normalizeExt(ext: string): string {
  const e = ext.startsWith('.') ? ext.slice(1) : ext;
  validateExt(e);
  return e;
}

/** `size`: the byte count of a bare Readable source (ignored for the others). */
export async function resolveSource(source: UploadSource, size?: number): Promise<Content> {
  if (typeof source === 'string') return fileContent(source);
  if (source instanceof Uint8Array) {
    const buf = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    return { size: buf.length, open: () => Readable.from([buf]), replayable: true, pathExt: '' };
  }
  if (source instanceof Readable) {
    if (size === undefined) {
      throw new FdfsError(Status.EINVAL, 'a stream upload needs its size: upload(stream, { size })');
    }
    return streamContent(source, size);
  }
  return streamContent(source.stream, source.size);
}

function streamContent(stream: Readable, size: number): Content {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new FdfsError(Status.EINVAL, `upload stream size must be a non-negative integer, got ${size}`);
  }
  let opened = false;
  return {
    size,
    open: () => {
      if (opened) throw new FdfsError(Status.EINVAL, 'an upload stream can be sent only once');
      opened = true;
      return stream;
    },
    replayable: false,
    pathExt: '',
  };
}

async function fileContent(path: string): Promise<Content> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new FdfsError(Status.EISDIR, `${path} is not a regular file`);
    size = st.size;
  } catch (err) {
    if (err instanceof FdfsError) throw err;
    throw new FdfsError(toStatus(err), `cannot read local file ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  // The range pins the byte count announced in the header even if the file grows meanwhile.
  const open = () => (size === 0 ? Readable.from([]) : createReadStream(path, { start: 0, end: size - 1 }));
  return { size, open, replayable: true, pathExt: extOfPath(path) };
}
