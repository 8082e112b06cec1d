/**
 * Object headers in and out: what a PUT stores (content type, the standard headers,
 * x-amz-meta-*), what a GET or HEAD answers with (and the response-* overrides), the four
 * conditional headers, and single byte ranges.
 */
import type { ObjectRecord } from '../namespace/index.js';
import type { S3Call } from './call.js';
import { s3Error, withHeaders } from './errors.js';

/** Standard headers S3 keeps with an object and answers with. */
const STORED = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'];
/** S3's limit on user metadata: names and values together. */
const MAX_META_BYTES = 2048;

export interface ObjectMeta {
  readonly contentType: string;
  readonly headers: Record<string, string>;
  readonly meta: Record<string, string>;
}

export function objectMetaOf(call: S3Call): ObjectMeta {
  const headers: Record<string, string> = {};
  for (const name of STORED) {
    let v = call.header(name);
    // aws-chunked is the framing of this request, not a property of the object.
    if (name === 'content-encoding' && v !== undefined) {
      v = v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '' && s.toLowerCase() !== 'aws-chunked')
        .join(', ');
    }
    if (v) headers[name] = v;
  }
  const meta: Record<string, string> = {};
  let bytes = 0;
  for (const [name, value] of Object.entries(call.req.headers)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
    const v = Array.isArray(value) ? value.join(',') : value;
    const short = name.slice('x-amz-meta-'.length);
    bytes += Buffer.byteLength(short) + Buffer.byteLength(v);
    meta[short] = v;
  }
  if (bytes > MAX_META_BYTES) {
    throw s3Error(
      'MetadataTooLarge',
      `Your metadata headers exceed the maximum allowed metadata size (${MAX_META_BYTES} bytes).`,
    );
  }
  const contentType = call.header('content-type') || call.ctx.defaultContentType;
  return { contentType, headers, meta };
}

/** x-fdfs-file-id: the FastDFS file(s) holding the bytes, reachable by direct URL and native clients. */
export function fileIdHeader(rec: Pick<ObjectRecord, 'parts'>): Record<string, string> {
  if (rec.parts.length === 0 || rec.parts.length > 32) return {};
  return { 'x-fdfs-file-id': rec.parts.map((p) => p.fileId).join(', ') };
}

const OVERRIDES: readonly (readonly [string, string])[] = [
  ['response-content-type', 'content-type'],
  ['response-content-language', 'content-language'],
  ['response-expires', 'expires'],
  ['response-cache-control', 'cache-control'],
  ['response-content-disposition', 'content-disposition'],
  ['response-content-encoding', 'content-encoding'],
];

/** The headers of a GET or HEAD answer (without length and range). */
export function objectHeaders(call: S3Call, rec: ObjectRecord): Record<string, string> {
  const h = storedHeaders(rec);
  if (call.target.query.size === 0) return h;
  for (const [param, header] of OVERRIDES) {
    const v = call.q(param);
    if (v === undefined) continue;
    if (call.owner === undefined) {
      throw s3Error(
        'InvalidRequest',
        'Request specific response headers cannot be used for anonymous GET requests.',
      );
    }
    h[header] = v;
  }
  return h;
}

/** What a GET or HEAD answers from the record alone (no response-* overrides, length or range). */
export function storedHeaders(rec: ObjectRecord): Record<string, string> {
  // Filled field by field: spreading the stored records cost more than the rest of this function.
  const h: Record<string, string> = {
    'content-type': rec.contentType,
    etag: `"${rec.etag}"`,
    'last-modified': new Date(rec.lastModified).toUTCString(),
    'accept-ranges': 'bytes',
  };
  for (const k of Object.keys(rec.headers)) h[k] = rec.headers[k] as string;
  const ids = fileIdHeader(rec)['x-fdfs-file-id'];
  if (ids !== undefined) h['x-fdfs-file-id'] = ids;
  for (const k of Object.keys(rec.meta)) h[`x-amz-meta-${k}`] = rec.meta[k] as string;
  if (rec.parts.length > 1) h['x-amz-mp-parts-count'] = String(rec.parts.length);
  return h;
}

function etagList(header: string): string[] {
  return header.split(',').map((t) =>
    t
      .trim()
      .replace(/^W\//, '')
      .replace(/^"(.*)"$/, '$1'),
  );
}

function matches(header: string, etag: string): boolean {
  return etagList(header).some((t) => t === '*' || t === etag);
}

function dateOf(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const ms = Date.parse(header);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/**
 * The four conditional headers, in S3's order: a failed If-Match (or, without it, a failed
 * If-Unmodified-Since) is 412; a matching If-None-Match (or, without it, an unchanged
 * If-Modified-Since) is 304. `prefix` reads the x-amz-copy-source-if-* family instead, where
 * every failure is a 412.
 */
export function checkConditions(call: S3Call, rec: ObjectRecord, prefix = ''): 'ok' | 'not-modified' {
  const h = (n: string) => call.header(`${prefix}${n}`);
  const modified = Math.floor(rec.lastModified / 1000);
  const fail = () =>
    s3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
  const ifMatch = h('if-match');
  if (ifMatch !== undefined) {
    if (!matches(ifMatch, rec.etag)) throw fail();
  } else {
    const since = dateOf(h('if-unmodified-since'));
    if (since !== undefined && modified > since) throw fail();
  }
  const ifNoneMatch = h('if-none-match');
  let notModified = false;
  if (ifNoneMatch !== undefined) notModified = matches(ifNoneMatch, rec.etag);
  else {
    const since = dateOf(h('if-modified-since'));
    notModified = since !== undefined && modified <= since;
  }
  if (!notModified) return 'ok';
  if (prefix !== '') throw fail();
  return 'not-modified';
}

export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * One `bytes=` range of an object of `size` bytes. A header S3 would ignore (another unit,
 * several ranges, bad syntax) gives undefined: the whole object. An unsatisfiable one is 416.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  const unsatisfiable = () =>
    withHeaders(s3Error('InvalidRange', 'The requested range is not satisfiable'), {
      'content-range': `bytes */${size}`,
    });
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  if (start >= size) throw unsatisfiable();
  return { start, end };
}
