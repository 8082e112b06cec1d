/**
 * POST /upload (multipart, one or more `file` parts) and PUT /upload/<name> (raw body, as
 * `curl -T`), once for both front ends: the hono routes and serve.ts's raw node:http path, which
 * hands busboy the IncomingMessage itself (no web-stream round trip). A request stores all its
 * files or none: when one part fails (too big, cut off, malformed) the parts already stored are
 * deleted again before the error is answered.
 */
import { extOfPath } from '../client/index.js';
import { isValidGroupName } from '../fileid/index.js';
import type { Body } from './body.js';
import type { GatewayContext } from './context.js';
import { fail } from './errors.js';
import { metaFromHeaders } from './meta-headers.js';
import { receiveMultipart } from './multipart.js';
import { type StoredFile, UploadSink } from './upload-sink.js';

/** One upload request as either front end sees it. */
export interface UploadRequest {
  header(name: string): string | undefined;
  /** Every header, names in lower case, in name order (as web Headers iterate). */
  headers(): Iterable<[string, string]>;
  /** The body as a detached Node stream; made on first call, the same Body after that. */
  body(): Body;
  /** The client's address, for the log. */
  readonly peer: string;
  /** scheme://host of the request: the base of URLs in the answer when http.public_url is unset. */
  origin(): string;
}

export interface FileView {
  readonly fileId: string;
  readonly url: string;
  readonly size: number;
  readonly crc32: number;
  readonly group: string;
  readonly name: string;
}

function view(f: StoredFile, base: string): FileView {
  return {
    fileId: f.fileId,
    url: `${base}/${f.fileId}`,
    size: f.size,
    crc32: f.crc32,
    group: f.group,
    name: f.name,
  };
}

function lengthOf(req: UploadRequest): number | undefined {
  const text = req.header('content-length');
  if (text === undefined) return req.header('transfer-encoding') === undefined ? 0 : undefined;
  if (!/^\d{1,15}$/.test(text))
    throw fail.badRequest(`bad Content-Length ${JSON.stringify(text.slice(0, 20))}`);
  return Number(text);
}

export class UploadService {
  private readonly sink: UploadSink;

  constructor(private readonly ctx: GatewayContext) {
    this.sink = new UploadSink(ctx);
  }

  /** POST /upload: every `file` part of a multipart/form-data body. */
  async post(req: UploadRequest): Promise<{ files: FileView[] }> {
    const { ctx, sink } = this;
    const who = await ctx.auth.require(req.header('authorization'), 'upload', ctx.now());
    const type = req.header('content-type') ?? '';
    if (!/^multipart\/form-data/i.test(type)) {
      throw fail.badRequest(
        'POST /upload takes multipart/form-data (curl -F file=@photo.jpg); use PUT for a raw body',
      );
    }
    const body = req.body();
    const { stored, error } = await receiveMultipart(body, type, ctx.config.upload, (file, part) =>
      sink.store({
        body: file,
        ext: extOfPath(part.name),
        name: part.name,
        group: part.group,
        meta: part.meta,
      }),
    );
    if (error !== undefined) {
      body.abandon();
      await sink.rollback(stored);
      throw error;
    }
    this.logStored(req, who, stored);
    const base = ctx.config.publicUrl || req.origin();
    return { files: stored.map((f) => view(f, base)) };
  }

  /** PUT /upload/<name>: the body is the file; `group` from the query, metadata from headers. */
  async put(req: UploadRequest, name: string, group: string | undefined): Promise<FileView> {
    const { ctx } = this;
    const who = await ctx.auth.require(req.header('authorization'), 'upload', ctx.now());
    if (group !== undefined && !isValidGroupName(group))
      throw fail.badRequest('group must be 1..16 letters or digits');
    const size = lengthOf(req);
    const meta = metaFromHeaders(req.headers());
    const body = req.body();
    try {
      const f = await this.sink.store({
        body: body.stream,
        ext: extOfPath(name),
        name,
        group,
        meta,
        ...(size === undefined ? {} : { size }),
      });
      this.logStored(req, who, [f]);
      return view(f, ctx.config.publicUrl || req.origin());
    } catch (err) {
      body.abandon();
      throw err;
    }
  }

  private logStored(req: UploadRequest, who: string, files: readonly StoredFile[]): void {
    for (const f of files) {
      this.ctx.metrics.received('upload', f.size);
      this.ctx.logger.info('uploaded', { fileId: f.fileId, size: f.size, peer: req.peer, by: who });
    }
  }
}
