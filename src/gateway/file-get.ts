/**
 * GET and HEAD of a file URL, independent of the HTTP framework: a request view in, a FileReply
 * out. Both the hono route (app.request() tests) and the raw node:http fast path in serve.ts
 * call this, so they cannot drift apart.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { isFdfsError, Status } from '../common/index.js';
import { AccessGuard } from './access.js';
import { type GatewayContext, isLocal } from './context.js';
import { errorBody } from './errors.js';
import type { CacheEntry } from './file-cache.js';
import { baseHeaders, ifRangeHolds, noneMatch, notModifiedSince } from './file-headers.js';
import { FileResolver, type ResolvedFile } from './file-source.js';
import type { FileTarget } from './file-url.js';
import { metaHeaders } from './meta-headers.js';
import { byteRangesFrame, contentRange, parseRange } from './range.js';
import type { VariantHook } from './types.js';

export interface FileRequest {
  readonly method: 'GET' | 'HEAD';
  /** Raw query text without '?', '' when none. */
  readonly query: string;
  /** A request header by lower-case name. */
  header(name: string): string | undefined;
}

export interface FileReply {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** Absent for HEAD, 304 and other empty answers. */
  readonly body?: Buffer | Readable;
  /** Body bytes, for metrics. */
  readonly length: number;
  /**
   * The body as `length` bytes of an open local file: an adapter that sends from a descriptor
   * (sendfile) may use it instead of reading `body`, and then calls release(ok) once, never
   * reading or destroying `body` (release closes the file and counts the download).
   */
  readonly file?: SendableFile;
}

export interface SendableFile {
  readonly fd: number;
  readonly offset: number;
  release(ok: boolean): void;
}

/** How src/image serves a stored variant through this service. */
export interface ServeOptions {
  /** Access is checked as for this master, and a signed link must carry `subject`. */
  readonly accessAs?: { readonly target: FileTarget; readonly subject: string };
  /** false: a missing file is a 404 even if its name is a variant (the retry after a render). */
  readonly render?: boolean;
}

export class FileService {
  /** Set by createGateway when image variants are wired in. */
  variants: VariantHook | undefined;
  private readonly resolver: FileResolver;
  private readonly access: AccessGuard;
  private readonly maxAgeSec: number;

  constructor(private readonly ctx: GatewayContext) {
    this.resolver = new FileResolver(ctx);
    this.access = new AccessGuard(ctx);
    this.maxAgeSec = Math.floor(ctx.config.cacheMaxAge / 1000);
  }

  /**
   * The hot path, synchronous: a plain GET (no query, no conditional or range headers) of a
   * public file held fresh in the cache. undefined = take the full path.
   */
  fast(target: FileTarget, query: string, plain: boolean, accept?: string): FileReply | undefined {
    const { ctx } = this;
    if (query !== '') return this.variants?.fast(target, query, plain, accept);
    if (!plain || ctx.config.antiSteal.checkToken || !isLocal(ctx, target.group)) return;
    const e = ctx.cache.get(target.remoteFilename);
    if (e === undefined || ctx.now() - e.checkedAt > ctx.config.cache.revalidate) return;
    ctx.cache.hits++;
    ctx.local?.countDownload?.(e.data.length, true);
    return { status: 200, headers: this.plainHeaders(e), body: e.data, length: e.data.length };
  }

  async serve(req: FileRequest, target: FileTarget, opts: ServeOptions = {}): Promise<FileReply> {
    const q = req.query === '' ? undefined : new URLSearchParams(req.query);
    const variants = this.variants;
    if (variants && opts.accessAs === undefined && variants.wants(q)) return variants.serve(req, target);
    let privateCache: boolean;
    try {
      const as = opts.accessAs;
      privateCache = await (as ? this.access.check(as.target, q, as.subject) : this.access.check(target, q));
    } catch (err) {
      const alt = await this.access.fallback(err);
      if (!alt) throw err;
      const headers = {
        'Content-Type': alt.type,
        'Cache-Control': 'no-store',
        'Content-Length': `${alt.data.length}`,
      };
      return {
        status: 200,
        headers,
        ...(req.method === 'GET' ? { body: alt.data } : {}),
        length: alt.data.length,
      };
    }
    let file: ResolvedFile;
    try {
      file = await this.resolver.resolve(target, req.method === 'HEAD');
    } catch (err) {
      // A missing file whose name is a variant of an existing image: rendered now, stored, served.
      const made =
        variants && opts.render !== false && isFdfsError(err, Status.ENOENT)
          ? await variants.missing(req, target)
          : undefined;
      if (made) return made;
      throw err;
    }
    try {
      const reply = await this.answer(req, target, file, q, privateCache);
      return file.where === 'local' ? this.counted(reply) : reply;
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  /** Reports a download from the local disk to the storage's counters once its body is done. */
  private counted(reply: FileReply): FileReply {
    // Counted once: on the body's close, or by file.release when an adapter sends from the file.
    const count = this.ctx.local?.countDownload?.bind(this.ctx.local);
    const body = reply.body;
    if (count === undefined || body === undefined || reply.status >= 300) return reply;
    if (Buffer.isBuffer(body)) {
      count(reply.length, true);
      return reply;
    }
    const file = reply.file;
    if (file) {
      const counting: SendableFile = {
        fd: file.fd,
        offset: file.offset,
        release(ok) {
          count(reply.length, ok);
          file.release(ok);
        },
      };
      reply = { ...reply, file: counting };
    }
    let ended = false;
    body.once('end', () => {
      ended = true;
    });
    body.once('close', () => count(reply.length, ended));
    return reply;
  }

  private plainHeaders(e: CacheEntry): Record<string, string> {
    e.plain ??= {
      ...baseHeaders(e.facts, this.maxAgeSec, false, undefined),
      'Content-Length': `${e.data.length}`,
    };
    return e.plain;
  }

  private async answer(
    req: FileRequest,
    target: FileTarget,
    file: ResolvedFile,
    q: URLSearchParams | undefined,
    privateCache: boolean,
  ): Promise<FileReply> {
    const f = file.facts;
    const name = q?.get('filename') || q?.get('attname') || undefined;
    const base = baseHeaders(f, this.maxAgeSec, privateCache, name);
    const inm = req.header('if-none-match');
    const ims = req.header('if-modified-since');
    if (
      inm !== undefined
        ? noneMatch(inm, f.etag)
        : ims !== undefined && notModifiedSince(ims, f.lastModifiedSec)
    ) {
      await file.close();
      return { status: 304, headers: base, length: 0 };
    }
    if (req.method === 'HEAD') {
      // Range is defined for GET only (RFC 9110 §14.2): a HEAD describes the whole file.
      const meta = await metaHeaders(this.ctx, target, file.where);
      await file.close();
      return { status: 200, headers: { ...base, ...meta, 'Content-Length': `${f.size}` }, length: 0 };
    }
    let range = parseRange(req.header('range'), f.size, this.ctx.config.multiRange);
    const ifRange = req.header('if-range');
    if (range.kind !== 'full' && ifRange !== undefined && !ifRangeHolds(ifRange, f.etag, f.lastModified)) {
      range = { kind: 'full' };
    }
    if (range.kind === 'unsatisfiable') {
      await file.close();
      const body = Buffer.from(
        JSON.stringify({
          error: { code: 'FDFS_ERR_ERANGE', message: `range not satisfiable: ${range.why}` },
        }),
      );
      const headers = { 'Content-Type': 'application/json', 'Content-Range': `bytes */${f.size}` };
      return {
        status: 416,
        headers: { ...headers, 'Content-Length': `${body.length}` },
        body,
        length: body.length,
      };
    }
    if (range.kind === 'full') {
      const headers = { ...base, 'Content-Length': `${f.size}` };
      if (file.data) return { status: 200, headers, body: file.data, length: f.size };
      if (f.size === 0) return { status: 200, headers, body: Buffer.alloc(0), length: 0 };
      const body = closing(await file.open(0, f.size - 1), file);
      return { status: 200, headers, body, length: f.size, ...sendable(file, 0) };
    }
    const [first, ...rest] = range.ranges;
    if (first === undefined) throw new Error('unreachable: a partial range without ranges');
    if (rest.length === 0) {
      const len = first.end - first.start + 1;
      const headers = { ...base, 'Content-Range': contentRange(first, f.size), 'Content-Length': `${len}` };
      if (file.data)
        return { status: 206, headers, body: file.data.subarray(first.start, first.end + 1), length: len };
      const body = closing(await file.open(first.start, first.end), file);
      return { status: 206, headers, body, length: len, ...sendable(file, first.start) };
    }
    const boundary = randomBytes(12).toString('hex');
    const frame = byteRangesFrame(range.ranges, f.size, f.contentType, boundary);
    const headers: Record<string, string> = {
      ...base,
      'Content-Type': `multipart/byteranges; boundary=${boundary}`,
      'Content-Length': `${frame.length}`,
    };
    if (file.data) {
      const data = file.data;
      const parts = range.ranges.flatMap((r, i) => [
        frame.heads[i] as Buffer,
        data.subarray(r.start, r.end + 1),
      ]);
      return { status: 206, headers, body: Buffer.concat([...parts, frame.tail]), length: frame.length };
    }
    // The first range is opened before answering so that a missing remote file is still a 404.
    const opened = await file.open(first.start, first.end);
    async function* parts(): AsyncGenerator<Buffer> {
      for (const [i, r] of range.kind === 'partial' ? range.ranges.entries() : []) {
        yield frame.heads[i] as Buffer;
        const src = i === 0 ? opened : await file.open(r.start, r.end);
        for await (const c of src) yield c as Buffer;
      }
      yield frame.tail;
    }
    const body = Readable.from(parts());
    body.once('close', () => opened.destroy());
    return { status: 206, headers, body: closing(body, file), length: frame.length };
  }
}

/** `{ file }` for a reply whose body starts at byte `start` of a local file, else nothing. */
function sendable(file: ResolvedFile, start: number): { file?: SendableFile } {
  const r = file.region;
  if (!r) return {};
  return { file: { fd: r.fd, offset: r.offset + start, release: () => void file.close() } };
}

/** Releases the file (handle) once the body is done or abandoned. */
function closing(body: Readable, file: ResolvedFile): Readable {
  body.once('close', () => void file.close());
  return body;
}

/** The JSON answer of a failed file request (used by both adapters). */
export function errorReply(status: number, err: unknown, head: boolean, fileId?: string): FileReply {
  const body = Buffer.from(JSON.stringify(errorBody(err, fileId)));
  const headers = { 'Content-Type': 'application/json', 'Content-Length': `${body.length}` };
  return head ? { status, headers, length: 0 } : { status, headers, body, length: body.length };
}
