/** DELETE of a file, signing links, cluster view, page config, health and metrics. */
import type { Hono } from 'hono';
import { isFdfsError, Status } from '../common/index.js';
import { parseFileId } from '../fileid/index.js';
import { clusterView } from './cluster-view.js';
import { type GatewayContext, type GatewayEnv, isLocal } from './context.js';
import { fail, spoken } from './errors.js';
import { parseFileUrl } from './file-url.js';
import { baseUrl, peerOf } from './peer.js';
import type { VariantHook } from './types.js';

const MAX_JSON = 16 * 1024;

async function readJson(req: Request): Promise<unknown> {
  const len = Number(req.headers.get('content-length') ?? '0');
  if (len > MAX_JSON) throw fail.tooLarge(`a JSON body is at most ${MAX_JSON} bytes`);
  const text = await req.text();
  if (text.length > MAX_JSON) throw fail.tooLarge(`a JSON body is at most ${MAX_JSON} bytes`);
  try {
    return JSON.parse(text);
  } catch {
    throw fail.badRequest('the body is not JSON');
  }
}

export function adminRoutes(app: Hono<GatewayEnv>, ctx: GatewayContext, variants?: VariantHook): void {
  app.delete('*', async (c, next) => {
    // Credentials first: an unauthenticated DELETE learns nothing, not even whether the id is valid.
    c.set('who', await ctx.auth.require(c.req.header('authorization'), 'delete', ctx.now()));
    const target = parseFileUrl(new URL(c.req.url).pathname, ctx.defaultGroup);
    if (target === undefined) return next();
    c.set('fileId', target.fileId);
    ctx.cache.delete(target.remoteFilename);
    await variants?.beforeDelete(target);
    let done = false;
    if (ctx.local && isLocal(ctx, target.group)) {
      try {
        await ctx.local.delete(target.remoteFilename);
        done = true;
      } catch (err) {
        // Not here: the source storage may have it and not have synced it to us yet.
        if (!isFdfsError(err, Status.ENOENT) || !ctx.remote) throw err;
      }
    }
    if (!done) {
      if (!ctx.remote)
        throw fail.notFound(`group ${target.group} is not served by this gateway`, target.fileId);
      await ctx.remote.delete(target.fileId);
    }
    ctx.logger.info('deleted', { fileId: target.fileId, peer: peerOf(c), by: c.get('who') });
    return c.body(null, 204);
  });

  app.post('/api/sign', async (c) => {
    c.set('who', await ctx.auth.require(c.req.header('authorization'), 'sign', ctx.now()));
    const body = (await readJson(c.req.raw)) as { fileId?: unknown; ttl?: unknown; variant?: unknown } | null;
    if (typeof body?.fileId !== 'string' || (body.variant !== undefined && typeof body.variant !== 'string'))
      throw fail.badRequest('body must be {"fileId": "...", "ttl": seconds, "variant"?: "w=…&h=…"}');
    let parsed: ReturnType<typeof parseFileId>;
    try {
      parsed = parseFileId(body.fileId);
    } catch (err) {
      throw spoken(err);
    }
    const { group, remoteFilename } = parsed;
    const ttl = body.ttl === undefined ? Math.floor(ctx.config.antiSteal.tokenTtl / 1000) : Number(body.ttl);
    const fileId = `${group}/${remoteFilename}`;
    // A variant link names the master and the canonical variant, so it renders that one only.
    if (body.variant !== undefined && !variants) throw fail.notEnabled('image variants are off');
    const v = body.variant === undefined ? undefined : variants?.signable(fileId, body.variant);
    const { token, exp } = await ctx.links.sign(v?.subject ?? fileId, ttl, Math.floor(ctx.now() / 1000));
    const url = `${baseUrl(c, ctx.config.publicUrl)}/${fileId}?${v ? `${v.query}&` : ''}sig=${token}`;
    return c.json({ url, fileId, expires: exp });
  });

  app.get('/api/cluster', async (c) => {
    c.set('who', await ctx.auth.require(c.req.header('authorization'), 'admin', ctx.now()));
    if (!ctx.remote) throw fail.notEnabled('this gateway has no tracker to ask');
    return c.json(await clusterView(ctx.remote));
  });

  // What the web page needs to know to offer the right controls; no secrets.
  app.get('/api/config', (c) =>
    c.json({
      auth: ctx.auth.enabled,
      signing: ctx.links.enabled,
      tokens: ctx.config.antiSteal.checkToken,
      maxUploadSize: ctx.config.upload.maxSize,
      maxFiles: ctx.config.upload.maxFiles,
      localGroup: ctx.local?.group ?? null,
    }),
  );

  app.get('/healthz', (c) =>
    c.json({ status: 'ok', local: ctx.local?.group ?? null, cluster: !!ctx.remote }),
  );

  app.get('/metrics', (c) =>
    c.text(ctx.metrics.render(ctx.cache.gauges()) + (variants?.metrics() ?? ''), 200, {
      'Content-Type': 'text/plain; version=0.0.4',
    }),
  );
}
