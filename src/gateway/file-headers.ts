/**
 * Response headers of a file: type, validators, caching and how the browser may show it.
 * Only an allowlist of types is ever shown inline; anything that can carry script (html, svg,
 * xml, js, ...) goes out as an attachment in a sandbox, so an uploaded file cannot run as the site.
 */
import { contentType, lookup } from 'mime-types';
import type { FileType } from '../fileid/index.js';

const INLINE = new Set([
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/avif',
  'image/bmp',
  'image/apng',
  'image/tiff',
  'image/x-icon',
  'image/vnd.microsoft.icon',
  'image/heic',
  'image/heif',
  'text/plain',
  'text/csv',
  'application/pdf',
  'application/json',
]);

/** Content type of an extension, with charset for text, or the configured default. */
export function typeOfExt(ext: string, fallback: string): { type: string; inline: boolean } {
  const mime = ext === '' ? false : lookup(ext);
  if (mime === false) return { type: fallback, inline: false };
  const inline = INLINE.has(mime) || mime.startsWith('video/') || mime.startsWith('audio/');
  return { type: contentType(mime) || mime, inline };
}

/** RFC 5987 attr-char: what may stand unencoded in `filename*=UTF-8''…`. */
function encode5987(name: string): string {
  return encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The ASCII stand-in for `filename="…"`, which is all curl -OJ (and other clients that ignore
 * filename*) will save under: accents dropped (café → cafe), each run of other non-ASCII
 * characters one '_', the extension kept; a name with no ASCII letter or digit left becomes
 * `download.<ext>` rather than `__.png`.
 */
export function asciiFileName(name: string): string {
  const plain = name.normalize('NFKD').replace(/\p{M}/gu, '');
  const dot = plain.lastIndexOf('.');
  const extRaw = dot > 0 ? plain.slice(dot) : '';
  const ext = /^\.[\x21-\x7e]+$/.test(extRaw) && !extRaw.includes('"') ? extRaw : '';
  const stem = (ext === '' ? plain : plain.slice(0, dot))
    .replace(/[^\x20-\x7e]+|["\\]/g, '_')
    .replace(/^[\s_]+|[\s_.]+$/g, '');
  return `${/[A-Za-z0-9]/.test(stem) ? stem : 'download'}${ext}`;
}

/**
 * `attachment; filename="…"; filename*=UTF-8''…`: the quoted form is an ASCII stand-in for
 * clients that ignore filename* (curl -OJ), the starred one carries the real name (Chinese names
 * survive in browsers and wget).
 */
export function attachment(name: string): string {
  const clean = name.replace(/[\r\n\\/]/g, '_').slice(0, 255);
  if (clean === '') return 'attachment';
  const ascii = asciiFileName(clean);
  return ascii === clean
    ? `attachment; filename="${ascii}"`
    : `attachment; filename="${ascii}"; filename*=UTF-8''${encode5987(clean)}`;
}

/**
 * Strong validators. A normal or trunk file's name is bound to its content (size, crc32, create
 * time and random bits) and never reused, so the name is the ETag and the same on every replica.
 * Appender files change in place and slave names can be taken again after a delete: size + mtime.
 */
export function etagOf(type: FileType, fileName: string, size: number, mtimeSec: number): string {
  if (type === 'normal' || type === 'trunk') return `"${fileName}"`;
  return `"${size.toString(16)}-${mtimeSec.toString(16)}"`;
}

/** Last-Modified per mod_fastdfs: the create time in the name, the mtime for slave/appender files. */
export function lastModifiedOf(type: FileType, nameTimestamp: number, mtimeSec: number): number {
  return type === 'normal' || type === 'trunk' ? nameTimestamp : mtimeSec;
}

export interface HeaderFacts {
  readonly type: FileType;
  readonly contentType: string;
  readonly inline: boolean;
  readonly etag: string;
  readonly lastModified: string; // HTTP date
  readonly fileName: string;
}

/**
 * Headers shared by 200, 206 and 304. `privateCache` when the answer needed a token or signed
 * link: shared caches must not hand it to others; browsers keep it but ask again (cheap 304s).
 */
export function baseHeaders(
  f: HeaderFacts,
  maxAgeSec: number,
  privateCache: boolean,
  downloadName: string | undefined,
): Record<string, string> {
  let cache: string;
  if (privateCache) cache = 'private, no-cache';
  else if (f.type === 'appender') cache = 'no-cache';
  else cache = `public, max-age=${maxAgeSec}, immutable`;
  const h: Record<string, string> = {
    'Content-Type': f.contentType,
    'Last-Modified': f.lastModified,
    ETag: f.etag,
    'Cache-Control': cache,
    'Accept-Ranges': 'bytes',
    'X-Content-Type-Options': 'nosniff',
  };
  if (downloadName !== undefined) h['Content-Disposition'] = attachment(downloadName);
  else if (!f.inline) h['Content-Disposition'] = attachment(f.fileName);
  if (!f.inline) h['Content-Security-Policy'] = "default-src 'none'; sandbox";
  return h;
}

/** If-None-Match: a list of entity tags or `*`, compared weakly (RFC 9110 §13.1.2). */
export function noneMatch(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  const ours = etag.replace(/^W\//, '');
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === ours);
}

/** If-Modified-Since: true when the file is not newer than the date sent (whole seconds). */
export function notModifiedSince(header: string, lastModifiedSec: number): boolean {
  const since = Date.parse(header);
  return Number.isFinite(since) && lastModifiedSec * 1000 <= since;
}

/** If-Range: the range applies only if the validator still matches exactly (strong compare). */
export function ifRangeHolds(header: string, etag: string, lastModified: string): boolean {
  const v = header.trim();
  if (v.startsWith('"') || v.startsWith('W/')) return v === etag;
  return v === lastModified;
}
