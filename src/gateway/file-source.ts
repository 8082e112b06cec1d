/**
 * Finds the bytes of a file: the small-file cache, then the local disk, then the cluster (any
 * replica whose sync covers the file, so a file uploaded a moment ago elsewhere is not a 404).
 */
import { Readable } from 'node:stream';
import { isFdfsError, Status } from '../common/index.js';
import { type DecodedName, decodeRemoteFilename } from '../fileid/index.js';
import { type GatewayContext, isLocal } from './context.js';
import { fail, spoken } from './errors.js';
import type { CacheEntry, FileFacts } from './file-cache.js';
import { etagOf, lastModifiedOf, typeOfExt } from './file-headers.js';
import type { FileTarget } from './file-url.js';
import type { FileRegion, LocalHandle, LocalStore } from './types.js';

export interface ResolvedFile {
  readonly facts: FileFacts;
  readonly where: 'local' | 'remote';
  /** The whole file in memory (small local files). */
  readonly data?: Buffer;
  /** Bytes start..end (inclusive). The first call may fail with ENOENT (remote); later ones rarely. */
  open(start: number, end: number): Promise<Readable>;
  /** Releases an open file handle; safe to call more than once. */
  close(): Promise<void>;
  /** A local file's descriptor and base offset while open (see LocalHandle.region). */
  readonly region?: FileRegion;
}

const CHUNK = 64 * 1024;
const noop = async () => {};

export function factsOf(d: DecodedName, size: number, mtimeSec: number, fallbackType: string): FileFacts {
  const { type, inline } = typeOfExt(d.ext, fallbackType);
  const lastModifiedSec = lastModifiedOf(d.type, d.timestamp, mtimeSec);
  return {
    type: d.type,
    size,
    contentType: type,
    inline,
    etag: etagOf(d.type, d.fileName, size, mtimeSec),
    lastModifiedSec,
    lastModified: new Date(lastModifiedSec * 1000).toUTCString(),
    fileName: d.fileName,
  };
}

function fromEntry(e: CacheEntry): ResolvedFile {
  return {
    facts: e.facts,
    where: 'local',
    data: e.data,
    open: async (s, end) => Readable.from([e.data.subarray(s, end + 1)]),
    close: noop,
  };
}

async function* readRange(h: LocalHandle, start: number, end: number): AsyncGenerator<Buffer> {
  for (let pos = start; pos <= end; ) {
    const chunk = await h.read(pos, Math.min(CHUNK, end - pos + 1));
    if (chunk.length === 0) throw fail.notFound('file shrank while being read');
    pos += chunk.length;
    yield chunk;
  }
}

async function readAll(h: LocalHandle): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of readRange(h, 0, h.size - 1)) parts.push(c);
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, h.size);
}

async function orMissing<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isFdfsError(err, Status.ENOENT)) return undefined;
    throw err;
  }
}

export class FileResolver {
  constructor(private readonly ctx: GatewayContext) {}

  async resolve(t: FileTarget, head: boolean): Promise<ResolvedFile> {
    // Decoding first rejects undecodable names (400) before any disk or network work.
    let d: DecodedName;
    try {
      d = decodeRemoteFilename(t.remoteFilename);
    } catch (err) {
      throw spoken(err);
    }
    const local = this.ctx.local;
    if (local && isLocal(this.ctx, t.group)) {
      const found = await this.fromLocal(local, t, d, head);
      if (found) return found;
      if (!this.ctx.remote) throw fail.notFound(`file ${t.fileId} not found`, t.fileId);
    }
    return this.fromRemote(t, d, head);
  }

  private async fromLocal(
    local: LocalStore,
    t: FileTarget,
    d: DecodedName,
    head: boolean,
  ): Promise<ResolvedFile | undefined> {
    const { cache, config } = this.ctx;
    const remote = t.remoteFilename;
    const now = this.ctx.now();
    const hit = cache.get(remote);
    if (hit) {
      if (now - hit.checkedAt <= config.cache.revalidate) {
        cache.hits++;
        return fromEntry(hit);
      }
      const st = await orMissing(local.stat(remote));
      if (st && st.size === hit.facts.size && st.mtimeMs === hit.mtimeMs) {
        hit.checkedAt = now;
        cache.hits++;
        return fromEntry(hit);
      }
      cache.delete(remote);
      if (!st) return undefined;
    }
    cache.misses++;
    if (head) {
      const st = await orMissing(local.stat(remote));
      if (!st) return undefined;
      const facts = factsOf(d, st.size, Math.floor(st.mtimeMs / 1000), config.defaultContentType);
      return {
        facts,
        where: 'local',
        open: () => Promise.reject(fail.badRequest('HEAD has no body')),
        close: noop,
      };
    }
    const h = await orMissing(local.open(remote));
    if (!h) return undefined;
    const facts = factsOf(d, h.size, Math.floor(h.mtimeMs / 1000), config.defaultContentType);
    // Appender files change in place: never cached. Everything else small: read once, keep.
    if (facts.type !== 'appender' && cache.fits(h.size)) {
      let data: Buffer;
      try {
        data = h.size === 0 ? Buffer.alloc(0) : await readAll(h);
      } finally {
        await h.close();
      }
      const entry: CacheEntry = { remote, facts, mtimeMs: h.mtimeMs, data, checkedAt: now };
      cache.set(entry);
      return fromEntry(entry);
    }
    let closed: Promise<void> | undefined;
    return {
      facts,
      where: 'local',
      open: async (s, end) => Readable.from(readRange(h, s, end)),
      close: () => {
        closed ??= h.close();
        return closed;
      },
      ...(h.region ? { region: h.region } : {}),
    };
  }

  private async fromRemote(t: FileTarget, d: DecodedName, head: boolean): Promise<ResolvedFile> {
    const remote = this.ctx.remote;
    if (!remote) throw fail.notFound(`group ${t.group} is not served by this gateway`, t.fileId);
    let size = d.size;
    let mtimeSec = d.timestamp;
    // A normal file's name carries its size and time: a GET needs no extra round trip, and a
    // missing file shows as ENOENT when the download starts, before any header is sent.
    if (size < 0 || head) {
      const info = await remote.fileInfo(t.fileId, { fromServer: true });
      size = info.size;
      mtimeSec = info.timestamp;
    }
    return {
      facts: factsOf(d, size, mtimeSec, this.ctx.config.defaultContentType),
      where: 'remote',
      open: (s, end) => remote.download(t.fileId, { offset: s, length: end - s + 1 }),
      close: noop,
    };
  }
}
