/**
 * Metadata as `X-Fdfs-Meta-<name>` headers (HEAD answers; PUT uploads read them back). Values
 * are UTF-8 percent-encoded where HTTP cannot carry them as is (non-ASCII, controls, '%'), so
 * decodeURIComponent gives the stored value back exactly.
 */
import type { GatewayContext } from './context.js';
import { fail } from './errors.js';
import type { FileTarget } from './file-url.js';

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
export const META_PREFIX = 'x-fdfs-meta-';

export function encodeMetaValue(value: string): string {
  return value.replace(/[^\x20-\x7e]|%/gu, (c) => encodeURIComponent(c));
}

export async function metaHeaders(
  ctx: GatewayContext,
  t: FileTarget,
  where: 'local' | 'remote',
): Promise<Record<string, string>> {
  let meta: Record<string, string>;
  if (where === 'local' && ctx.local) meta = await ctx.local.getMetadata(t.remoteFilename);
  else if (ctx.remote) meta = await ctx.remote.getMetadata(t.fileId);
  else meta = {};
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(meta)) {
    // A name HTTP cannot carry as a header name is left out rather than mangled.
    if (HEADER_NAME.test(name)) out[`X-Fdfs-Meta-${name}`] = encodeMetaValue(value);
  }
  return out;
}

/** Metadata sent as request headers (PUT /upload/<name>). */
export function metaFromHeaders(headers: Iterable<[string, string]>): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const [key, value] of headers) {
    const k = key.toLowerCase();
    if (!k.startsWith(META_PREFIX) || k.length === META_PREFIX.length) continue;
    try {
      meta[key.slice(META_PREFIX.length)] = decodeURIComponent(value);
    } catch {
      throw fail.badRequest(`header ${key}: not a valid percent-encoded UTF-8 value`);
    }
  }
  return meta;
}
