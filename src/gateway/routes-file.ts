/** GET/HEAD of file URLs on hono: a thin adapter over FileService (serve.ts has the raw twin). */
import { Readable } from 'node:stream';
import type { Hono } from 'hono';
import type { GatewayContext, GatewayEnv } from './context.js';
import type { FileReply, FileService } from './file-get.js';
import { parseFileUrl, splitTarget } from './file-url.js';

export function toResponse(reply: FileReply, head: boolean): Response {
  const init = { status: reply.status, headers: reply.headers };
  if (head || reply.body === undefined) return new Response(null, init);
  if (Buffer.isBuffer(reply.body)) return new Response(reply.body, init);
  return new Response(Readable.toWeb(reply.body) as ReadableStream, init);
}

export function fileRoutes(app: Hono<GatewayEnv>, ctx: GatewayContext, files: FileService): void {
  // Hono answers HEAD with the GET handler and drops the body; FileService never opens one for HEAD.
  app.get('*', async (c, next) => {
    const { path, query } = splitTarget(c.req.url.slice(new URL(c.req.url).origin.length));
    const target = parseFileUrl(path, ctx.defaultGroup);
    if (target === undefined) return next();
    c.set('fileId', target.fileId);
    const method = c.req.method === 'HEAD' ? 'HEAD' : 'GET';
    const reply = await files.serve({ method, query, header: (n) => c.req.header(n) }, target);
    return toResponse(reply, method === 'HEAD');
  });
}

/** What a file URL takes; DELETE needs a bearer token when http.auth keys are set. */
export const FILE_METHODS = 'GET, HEAD, DELETE';

/**
 * Any other method on a file URL: 405 with Allow (RFC 9110 §15.5.6), OPTIONS 204 with Allow.
 * Registered after every route, so GET, HEAD and DELETE never get here for a file URL.
 */
export function fileMethods(app: Hono<GatewayEnv>, ctx: GatewayContext): void {
  app.all('*', (c, next) => {
    const target = parseFileUrl(new URL(c.req.url).pathname, ctx.defaultGroup);
    if (target === undefined) return next();
    c.set('fileId', target.fileId);
    if (c.req.method === 'OPTIONS') return c.body(null, 204, { Allow: FILE_METHODS });
    const message = `${c.req.method} is not allowed on a file URL (allowed: ${FILE_METHODS})`;
    return c.json({ error: { code: 'FDFS_ERR_EOPNOTSUPP', message } }, 405, { Allow: FILE_METHODS });
  });
}
