/**
 * The web page (public/): a handful of small files, read once on first use and then answered
 * from memory. Only names in that folder are served, by exact name, so no path reaches the disk.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { contentType } from 'mime-types';
import type { GatewayContext, GatewayEnv } from './context.js';

const PAGE_FILE = /^[a-z0-9][a-z0-9-]*\.(html|css|js|svg|png|ico|json|txt|webmanifest)$/;

// The page loads only its own files; previews are blob: URLs, the icon a data: URL.
const PAGE_CSP =
  "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; " +
  "frame-ancestors 'none'; form-action 'self'";

interface PageFile {
  readonly data: Buffer;
  readonly headers: Record<string, string>;
}

async function load(dir: string): Promise<Map<string, PageFile>> {
  const out = new Map<string, PageFile>();
  for (const name of await readdir(dir)) {
    if (!PAGE_FILE.test(name)) continue;
    const data = await readFile(join(dir, name));
    const headers = {
      'Content-Type': contentType(name) || 'application/octet-stream',
      'Content-Length': `${data.length}`,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': PAGE_CSP,
      'Referrer-Policy': 'same-origin',
    };
    out.set(name, { data, headers });
  }
  return out;
}

export function pageRoutes(app: Hono<GatewayEnv>, ctx: GatewayContext, dir: string | undefined): void {
  if (dir === undefined) return;
  let files: Promise<Map<string, PageFile>> | undefined;
  app.get('/:name{[a-z0-9][a-z0-9.-]*}?', async (c, next) => {
    files ??= load(dir).catch((err: unknown) => {
      ctx.logger.error('cannot read the web page folder', { dir, err });
      files = undefined;
      return new Map();
    });
    const name = c.req.param('name') ?? 'index.html';
    const f = (await files).get(name);
    if (f === undefined) return next();
    return c.body(new Uint8Array(f.data), 200, f.headers);
  });
}
