/**
 * createApp(config, deps): the gateway as a hono app, every route testable with app.request().
 * createGateway also returns the pieces serve.ts shares with its raw node:http fast path.
 */
import { Hono } from 'hono';
import type { HttpConfig } from '../config/types.js';
import { createContext, type GatewayContext, type GatewayEnv } from './context.js';
import { CLIENT_CLOSED, errorBody, httpStatusOf } from './errors.js';
import { FileService } from './file-get.js';
import { routeOf } from './metrics.js';
import { peerOf } from './peer.js';
import { adminRoutes } from './routes-admin.js';
import { fileMethods, fileRoutes } from './routes-file.js';
import { uploadRoutes } from './routes-upload.js';
import { pageRoutes } from './static-page.js';
import type { GatewayDeps } from './types.js';
import { UploadService } from './upload-service.js';

export interface AppDeps extends GatewayDeps {
  /** Folder of the web page (public/), served at `/`; none when absent. */
  readonly publicDir?: string;
}

export interface Gateway {
  readonly app: Hono<GatewayEnv>;
  readonly ctx: GatewayContext;
  readonly files: FileService;
  readonly uploads: UploadService;
}

/** Logs a finished request the way STYLE asks: 5xx at error, 4xx at info, the rest at debug. */
export function logRequest(
  ctx: GatewayContext,
  fields: { method: string; path: string; status: number; ms: number; peer: string; fileId?: string },
  err?: unknown,
): void {
  const line = { ...fields, path: fields.path.slice(0, 200), ms: Math.round(fields.ms * 10) / 10 };
  if (fields.status === CLIENT_CLOSED)
    ctx.logger.info('client closed the request', { ...line, err: (err as Error)?.message });
  else if (fields.status >= 500) ctx.logger.error('request failed', { ...line, err });
  else if (fields.status >= 400)
    ctx.logger.info('request refused', { ...line, err: (err as Error)?.message });
  else ctx.logger.debug('request', line);
}

export function createGateway(config: HttpConfig, deps: AppDeps = {}): Gateway {
  const ctx = createContext(config, deps);
  const files = new FileService(ctx);
  files.variants = deps.variants?.({ ctx, files });
  const uploads = new UploadService(ctx);
  const app = new Hono<GatewayEnv>();
  const failures = new WeakMap<Request, unknown>();

  app.use(async (c, next) => {
    const t0 = performance.now();
    await next();
    const path = new URL(c.req.url).pathname;
    const ms = performance.now() - t0;
    const status = c.res.status;
    const length = Number(c.res.headers.get('content-length') ?? 0);
    ctx.metrics.observe(routeOf(c.req.method, path), c.req.method, status, ms / 1000, length);
    const fileId = c.get('fileId');
    logRequest(
      ctx,
      { method: c.req.method, path, status, ms, peer: peerOf(c), ...(fileId ? { fileId } : {}) },
      failures.get(c.req.raw),
    );
  });

  fileRoutes(app, ctx, files);
  uploadRoutes(app, uploads);
  adminRoutes(app, ctx, files.variants);
  pageRoutes(app, ctx, deps.publicDir);

  fileMethods(app, ctx);
  app.notFound((c) => c.json({ error: { code: 'FDFS_ERR_ENOENT', message: 'no such route' } }, 404));
  app.onError((err, c) => {
    failures.set(c.req.raw, err);
    // The client hung up (a cut upload): there is no one to answer.
    if (c.req.raw.signal.aborted) return c.body(null, CLIENT_CLOSED as 200);
    const status = httpStatusOf(err);
    const headers: Record<string, string> = {};
    if (status === 401) headers['WWW-Authenticate'] = 'Bearer';
    return c.json(errorBody(err, c.get('fileId')), status as 400, headers);
  });
  return { app, ctx, files, uploads };
}

/** The hono app alone (tests, embedding in another server). */
export function createApp(config: HttpConfig, deps: AppDeps = {}): Hono<GatewayEnv> {
  return createGateway(config, deps).app;
}
