/**
 * Object bytes in and out of FastDFS. Every PutObject and every part is one FastDFS file: beside
 * a storage of the target group it goes straight into that storage's durable writer, otherwise
 * through the cluster (streamed when the length is known, spooled when not). No file is named before
 * its upload intent is durable (intents.ts), so fdfs s3 gc can find a crashed upload's file: the
 * local storage syncs the bytes meanwhile, a remote one gets the last chunk only then.
 * Reads of an object walk its parts, so a Range may start in one file and end in another.
 */
import { type Duplex, PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extOfPath } from '../client/index.js';
import { isFdfsError, Status } from '../common/index.js';
import { decodeRemoteFilename, parseFileId } from '../fileid/index.js';
import { type LocalHandle, limiter, type SendableFile, spool, type TooLarge } from '../gateway/index.js';
import type { ObjectPart } from '../namespace/index.js';
import type { S3Context } from './context.js';
import { s3Error } from './errors.js';

const READ_CHUNK = 256 * 1024;

/** S3's own wording past the size limit; the gateway's limiter and spool do the counting. */
const entityTooLarge: TooLarge = (max) =>
  s3Error('EntityTooLarge', `Your proposed upload exceeds the maximum allowed size (${max} bytes).`);

export interface StoreOptions {
  /** The object key, for the file's extension (`photo.jpg` → jpg). */
  readonly key: string;
  /** The bucket's pinned group, if any. */
  readonly group: string | undefined;
  /** The exact decoded length when the request states it. */
  readonly size: number | undefined;
}

export interface StoredFile {
  readonly fileId: string;
  readonly size: number;
}

function extOf(key: string): string {
  return extOfPath(key.slice(key.lastIndexOf('/') + 1));
}

function isLocalGroup(ctx: S3Context, group: string | undefined): boolean {
  return ctx.local !== undefined && (group === undefined || group === ctx.local.group);
}

/**
 * Streams `body` into one new FastDFS file. The body stream is the place verification fails
 * (digest, signature, length): when it fails after a storage already took the bytes, the file is
 * deleted again, so a refused request never leaves a file behind.
 */
export async function storeFile(ctx: S3Context, body: Readable, o: StoreOptions): Promise<StoredFile> {
  const max = ctx.config.maxObjectSize;
  if (o.size !== undefined && o.size > max) {
    throw s3Error(
      'EntityTooLarge',
      `Your proposed upload of ${o.size} bytes exceeds the maximum allowed size (${max} bytes).`,
    );
  }
  const ext = extOf(o.key);
  const local = ctx.local;
  if (local && isLocalGroup(ctx, o.group)) {
    const intent = ctx.intents.alongside(local.group);
    // The store reads the body itself (no stage between): it counts the bytes, enforces the
    // limit, computes the CRC the intent needs and reports both once the body is written.
    let remoteName: string;
    try {
      remoteName = await local.upload(body, {
        ext,
        maxSize: max,
        ...(o.size === undefined ? {} : { size: o.size }),
        commitAfter: intent.recorded,
        bodyEnded: intent.ended,
      });
    } catch (err) {
      if (isFdfsError(err, Status.EFBIG)) throw entityTooLarge(max);
      throw err;
    }
    const fileId = `${local.group}/${remoteName}`;
    // A store that named the file without a written body's report: the name carries the same
    // size and CRC. (Ours reports for trunk slots too, and waits for the intent.)
    if (!intent.started) {
      const named = decodeRemoteFilename(remoteName);
      intent.ended(named.size, named.crc32);
    }
    // The store named the file, so it awaited the intent: recorded() has resolved.
    ctx.intents.settle(await intent.recorded(), fileId);
    return { fileId, size: intent.size() };
  }
  const remote = ctx.remote;
  if (!remote)
    throw s3Error('InvalidLocationConstraint', `The group ${o.group} is not served by this endpoint.`);
  const opts = { ext, ...(o.group === undefined ? {} : { group: o.group }) };
  if (o.size !== undefined) {
    const limited = new PassThrough();
    let intent: number | undefined;
    const gate = ctx.intents.gate(o.group ?? '', (id) => {
      intent = id;
    });
    const piping = pipeline(body, limiter(o.size, undefined, entityTooLarge), gate, limited);
    const uploading = remote.upload({ stream: limited, size: o.size }, opts);
    const fileId = await settle(ctx, uploading, piping, limited);
    if (intent !== undefined) ctx.intents.settle(intent, fileId);
    return { fileId, size: o.size };
  }
  const spooled = await spool(ctx.spoolDir, body, max, entityTooLarge);
  try {
    return { fileId: await remote.upload(spooled.path, opts), size: spooled.size };
  } finally {
    await spooled.remove();
  }
}

/** Waits for both the store and the body; a body failure after a stored file deletes the file. */
async function settle(ctx: S3Context, uploading: Promise<string>, piping: Promise<void>, feed: Duplex) {
  const [up, pipe] = await Promise.allSettled([uploading, piping]);
  if (pipe.status === 'rejected') {
    feed.destroy();
    if (up.status === 'fulfilled') {
      const fileId = up.value;
      await deleteFile(ctx, fileId).catch((err: unknown) =>
        ctx.logger.warn('could not delete the file of a refused body', { fileId, err }),
      );
    }
    throw pipe.reason;
  }
  if (up.status === 'rejected') throw up.reason;
  return up.value;
}

export async function deleteFile(ctx: S3Context, fileId: string): Promise<void> {
  ctx.smallFiles.delete(fileId);
  try {
    const { group, remoteFilename } = parseFileId(fileId);
    if (ctx.local && ctx.local.group === group) await ctx.local.delete(remoteFilename);
    else if (ctx.remote) await ctx.remote.delete(fileId);
    else throw s3Error('InternalError', `no store serves group ${group}`);
  } catch (err) {
    // Already gone is what a delete wants.
    if (!isFdfsError(err, Status.ENOENT)) throw err;
  }
}

/** Bytes start..end of an open local file, READ_CHUNK at a time. */
async function* handleBytes(
  h: LocalHandle,
  fileId: string,
  start: number,
  end: number,
): AsyncGenerator<Buffer> {
  for (let pos = start; pos <= end; ) {
    const chunk = await h.read(pos, Math.min(READ_CHUNK, end - pos + 1));
    if (chunk.length === 0) throw s3Error('InternalError', `stored file ${fileId} is shorter than recorded`);
    pos += chunk.length;
    yield chunk;
  }
}

async function* fileBytes(
  ctx: S3Context,
  fileId: string,
  start: number,
  end: number,
): AsyncGenerator<Buffer> {
  const { group, remoteFilename } = parseFileId(fileId);
  const local = ctx.local;
  if (local && local.group === group) {
    const h = await local.open(remoteFilename);
    try {
      yield* handleBytes(h, fileId, start, end);
    } finally {
      await h.close();
    }
    return;
  }
  if (!ctx.remote) throw s3Error('InternalError', `no store serves group ${group}`);
  const stream = await ctx.remote.download(fileId, { offset: start, length: end - start + 1 });
  for await (const c of stream) yield c as Buffer;
}

async function* objectBytes(
  ctx: S3Context,
  parts: readonly ObjectPart[],
  start: number,
  end: number,
): AsyncGenerator<Buffer> {
  let offset = 0;
  for (const p of parts) {
    const first = offset;
    const last = offset + p.size - 1;
    offset += p.size;
    if (p.size === 0 || last < start) continue;
    if (first > end) break;
    yield* fileBytes(ctx, p.fileId, Math.max(start, first) - first, Math.min(end, last) - first);
  }
}

/**
 * Bytes start..end (inclusive) of an object made of `parts`. The first file is opened before this
 * resolves, so a missing file is an error answer, not a cut-off body.
 */
export async function openObject(
  ctx: S3Context,
  parts: readonly ObjectPart[],
  start: number,
  end: number,
): Promise<Readable> {
  const it = objectBytes(ctx, parts, start, end);
  const first = await it.next();
  async function* rest(): AsyncGenerator<Buffer> {
    try {
      if (first.done) return;
      yield first.value;
      yield* it;
    } finally {
      await it.return(undefined);
    }
  }
  return Readable.from(rest(), { objectMode: false });
}

/**
 * Bytes start..end of a file on this node's own disk both ways, so the server may send them by
 * sendfile (`file`) or stream them (`body`, read only if the server does): each releases the file
 * once. undefined when the file is not local here or the store names no descriptor.
 */
async function localFileBody(
  ctx: S3Context,
  fileId: string,
  start: number,
  end: number,
): Promise<{ body: Readable; file: SendableFile } | undefined> {
  const { group, remoteFilename } = parseFileId(fileId);
  const local = ctx.local;
  if (!local || local.group !== group) return undefined;
  const h = await local.open(remoteFilename);
  const region = h.region;
  if (!region) {
    await h.close();
    return undefined;
  }
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= h.close();
    return closed;
  };
  const body = Readable.from(handleBytes(h, fileId, start, end), { objectMode: false });
  // A body destroyed before its first read never runs the generator: close on the stream's end.
  body.once('close', () => void close());
  const file = { fd: region.fd, offset: region.offset + start, release: () => void close() };
  return { body, file };
}

/**
 * Bytes start..end of an object: a small single-file object from memory (read whole once), a
 * large one-file object on this node's disk as a file the server may sendfile, anything else
 * streamed from its files.
 */
export async function readObject(
  ctx: S3Context,
  parts: readonly ObjectPart[],
  start: number,
  end: number,
): Promise<Readable | Buffer | { body: Readable; file: SendableFile }> {
  const only = parts.length === 1 ? parts[0] : undefined;
  if (only && only.size > ctx.smallFiles.maxFileSize) {
    const sendable = await localFileBody(ctx, only.fileId, start, end);
    if (sendable) return sendable;
  }
  if (!only || only.size > ctx.smallFiles.maxFileSize) return openObject(ctx, parts, start, end);
  // Only non-appender files enter the cache: a hit needs no decoding of the name (a profile's 7%).
  let data = ctx.smallFiles.get(only.fileId);
  if (data === undefined) {
    if (isAppender(only.fileId)) return openObject(ctx, parts, start, end);
    const chunks: Buffer[] = [];
    if (only.size > 0) for await (const c of fileBytes(ctx, only.fileId, 0, only.size - 1)) chunks.push(c);
    data = Buffer.concat(chunks);
    ctx.smallFiles.set(only.fileId, data);
  }
  return data.subarray(start, end + 1);
}

/**
 * An appender file (only `fdfs s3 import` brings one in, or a copy shares it) is the one whose id may name
 * other bytes: native appends and modifies change it, so it stays out of the cache.
 */
function isAppender(fileId: string): boolean {
  try {
    return decodeRemoteFilename(parseFileId(fileId).remoteFilename).type === 'appender';
  } catch {
    return true;
  }
}
