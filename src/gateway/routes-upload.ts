/**
 * POST /upload (multipart, one or more `file` parts) and PUT /upload/<name> (raw body, as
 * `curl -T`). A request stores all its files or none: when one part fails (too big, cut off,
 * malformed) the parts already stored are deleted again before the error is answered.
 */
import type { Context, Hono } from 'hono';
import { extOfPath } from '../client/index.js';
import { isValidGroupName } from '../fileid/index.js';
import { requestBody } from './body.js';
import type { GatewayContext, GatewayEnv } from './context.js';
import { fail } from './errors.js';
import { metaFromHeaders } from './meta-headers.js';
import { receiveMultipart } from './multipart.js';
import { baseUrl, peerOf } from './peer.js';
import { type StoredFile, UploadSink } from './upload-sink.js';

function view(f: StoredFile, base: string) {
  return {
    fileId: f.fileId,
    url: `${base}/${f.fileId}`,
    size: f.size,
    crc32: f.crc32,
    group: f.group,
    name: f.name,
  };
}

function lengthOf(c: Context): number | undefined {
  const text = c.req.header('content-length');
  if (text === undefined) return c.req.header('transfer-encoding') === undefined ? 0 : undefined;
  if (!/^\d{1,15}$/.test(text))
    throw fail.badRequest(`bad Content-Length ${JSON.stringify(text.slice(0, 20))}`);
  return Number(text);
}

export function uploadRoutes(app: Hono<GatewayEnv>, ctx: GatewayContext): void {
  const sink = new UploadSink(ctx);

  const logStored = (c: Context, files: readonly StoredFile[]) => {
    for (const f of files) {
      ctx.metrics.received('upload', f.size);
      ctx.logger.info('uploaded', { fileId: f.fileId, size: f.size, peer: peerOf(c), by: c.get('who') });
    }
  };

  app.post('/upload', async (c) => {
    c.set('who', await ctx.auth.require(c.req.header('authorization'), 'upload', ctx.now()));
    const type = c.req.header('content-type') ?? '';
    if (!/^multipart\/form-data/i.test(type)) {
      throw fail.badRequest(
        'POST /upload takes multipart/form-data (curl -F file=@photo.jpg); use PUT for a raw body',
      );
    }
    const body = requestBody(c.req.raw.body);
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
    logStored(c, stored);
    const base = baseUrl(c, ctx.config.publicUrl);
    return c.json({ files: stored.map((f) => view(f, base)) });
  });

  app.put('/upload/:name', async (c) => {
    c.set('who', await ctx.auth.require(c.req.header('authorization'), 'upload', ctx.now()));
    const name = c.req.param('name');
    const group = c.req.query('group');
    if (group !== undefined && !isValidGroupName(group))
      throw fail.badRequest('group must be 1..16 letters or digits');
    const size = lengthOf(c);
    const meta = metaFromHeaders(c.req.raw.headers);
    const body = requestBody(c.req.raw.body);
    try {
      const f = await sink.store({
        body: body.stream,
        ext: extOfPath(name),
        name,
        group,
        meta,
        ...(size === undefined ? {} : { size }),
      });
      logStored(c, [f]);
      return c.json(view(f, baseUrl(c, ctx.config.publicUrl)));
    } catch (err) {
      body.abandon();
      throw err;
    }
  });
}
