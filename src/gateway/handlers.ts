/**
 * The gateway's upload and file semantics as hono handlers for someone else's app: mount them
 * under your own routes, behind your own auth, in one line each. They run the same code as the
 * gateway's POST /upload, PUT /upload/<name> and direct file URLs (UploadService, FileService),
 * so limits, metadata, tokens, ranges and the JSON answers and errors are the same.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context, Handler } from 'hono';
import { type Logger, silentLogger } from '../common/index.js';
import { defaultHttpConfig } from '../config/index.js';
import type { HttpConfig } from '../config/types.js';
import { logRequest } from './app.js';
import { createContext, type GatewayContext } from './context.js';
import { CLIENT_CLOSED, errorBody, fail, httpStatusOf } from './errors.js';
import { FileService } from './file-get.js';
import { parseFileUrl, splitTarget } from './file-url.js';
import { peerOf } from './peer.js';
import { toResponse } from './routes-file.js';
import { fromHono } from './routes-upload.js';
import type { RemoteStore } from './types.js';
import { UploadService } from './upload-service.js';

export interface HandlerOptions {
  /** Where files go and come from: an FdfsClient. */
  readonly client: RemoteStore;
  /**
   * http.conf settings (limits `http.upload.*`, bearer keys `http.auth.*`, tokens
   * `http.anti_steal.*`, signed links `http.jwt.*`, `http.public_url`…); defaults when absent.
   */
  readonly config?: HttpConfig;
  readonly logger?: Logger;
  /**
   * Where multipart parts and chunked bodies wait until their size is known (removed after each
   * request). Default: `fastdfs-ts-spool` in the OS temp folder.
   */
  readonly spoolDir?: string;
}

function contextOf(opts: HandlerOptions): GatewayContext {
  const config = opts.config ?? defaultHttpConfig().config;
  const ctx = createContext(config, { remote: opts.client, logger: opts.logger ?? silentLogger });
  return { ...ctx, spoolDir: opts.spoolDir ?? join(tmpdir(), 'fastdfs-ts-spool') };
}

/** The gateway's error answer: its status, its JSON body, never a server's address. */
function errorResponse(ctx: GatewayContext, c: Context, err: unknown, t0: number, fileId?: string): Response {
  const aborted = c.req.raw.signal.aborted;
  const status = aborted ? CLIENT_CLOSED : httpStatusOf(err);
  const path = new URL(c.req.url).pathname;
  const fields = { method: c.req.method, path, status, ms: performance.now() - t0, peer: peerOf(c) };
  logRequest(ctx, fileId ? { ...fields, fileId } : fields, err);
  if (aborted) return new Response(null, { status: CLIENT_CLOSED });
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (status === 401) headers['WWW-Authenticate'] = 'Bearer';
  return new Response(JSON.stringify(errorBody(err, fileId)), { status, headers });
}

/**
 * Uploads as the gateway takes them: POST multipart/form-data (one or more `file` parts, `group`
 * and `meta.<name>` fields before them) answers `{ files: [...] }`; PUT with a raw body, named by
 * the last path segment (`?group=`, `X-Fdfs-Meta-*` headers), answers one object.
 * `app.on(['POST', 'PUT'], '/files/:name?', uploadHandler({ client }))`.
 */
export function uploadHandler(opts: HandlerOptions): Handler {
  const ctx = contextOf(opts);
  const uploads = new UploadService(ctx);
  return async (c) => {
    const t0 = performance.now();
    try {
      if (c.req.method === 'POST') return c.json(await uploads.post(fromHono(c)));
      if (c.req.method === 'PUT') {
        const path = new URL(c.req.url).pathname;
        const name = decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
        return c.json(await uploads.put(fromHono(c), name, c.req.query('group')));
      }
      throw fail.badRequest(`${c.req.method} does not upload: use POST (multipart) or PUT (raw body)`);
    } catch (err) {
      return errorResponse(ctx, c, err, t0);
    }
  };
}

export interface FileHandlerOptions extends HandlerOptions {
  /** The part of the path before the file URL, e.g. `/files` for `/files/group1/M00/…`. Default ''. */
  readonly prefix?: string;
}

/**
 * GET and HEAD of direct file URLs below `prefix`, as the gateway serves them: FastDFS tokens
 * (`?token=&ts=`) and signed links (`?sig=`) when the config turns them on, ranges, ETags,
 * conditional requests, safe content types. `app.get('/files/*', fileHandler({ client, prefix: '/files' }))`.
 */
export function fileHandler(opts: FileHandlerOptions): Handler {
  const ctx = contextOf(opts);
  const files = new FileService(ctx);
  const prefix = (opts.prefix ?? '').replace(/\/+$/, '');
  return async (c) => {
    const t0 = performance.now();
    let fileId: string | undefined;
    try {
      const { path, query } = splitTarget(c.req.url.slice(new URL(c.req.url).origin.length));
      const rest = path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : undefined;
      const target = rest === undefined ? undefined : parseFileUrl(rest, ctx.defaultGroup);
      if (target === undefined) throw fail.notFound('not a file URL');
      fileId = target.fileId;
      const method = c.req.method === 'HEAD' ? 'HEAD' : 'GET';
      const reply = await files.serve({ method, query, header: (n) => c.req.header(n) }, target);
      return toResponse(reply, method === 'HEAD');
    } catch (err) {
      return errorResponse(ctx, c, err, t0, fileId);
    }
  };
}
