/**
 * ListObjectsV2, ListObjects (v1) and ListObjectVersions (every object as version "null"). The
 * namespace pages in UTF-8 byte order after an exclusive marker; continuation tokens are that
 * marker, opaque to clients (base64url).
 */
import type { ListPage, ObjectRecord } from '../namespace/index.js';
import { type Reply, type S3Call, xmlReply } from './call.js';
import { s3Error } from './errors.js';
import { isoTime, ownerXml } from './owner.js';
import { el, root, type Xml } from './xml-write.js';

const MAX_KEYS = 1000;

export function maxKeysOf(call: S3Call, name = 'max-keys'): number {
  const text = call.q(name);
  if (text === undefined) return MAX_KEYS;
  if (!/^\d{1,10}$/.test(text)) throw s3Error('InvalidArgument', `${name} must be a non-negative integer.`);
  return Math.min(Number(text), MAX_KEYS);
}

/** encoding-type=url: names go out %-encoded (botocore decodes only when this is echoed). */
export function encoderOf(call: S3Call): (s: string) => string {
  const type = call.q('encoding-type');
  if (type === undefined) return (s) => s;
  if (type !== 'url') throw s3Error('InvalidArgument', 'Invalid Encoding Method specified in Request');
  return (s) => encodeURIComponent(s).replace(/%2F/g, '/');
}

export function tokenOf(last: string): string {
  return Buffer.from(`k:${last}`, 'utf8').toString('base64url');
}

function markerOfToken(token: string): string {
  const text = /^[A-Za-z0-9_-]*$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : '';
  if (!text.startsWith('k:'))
    throw s3Error('InvalidArgument', 'The continuation token provided is incorrect');
  return text.slice(2);
}

async function page(call: S3Call, after: string | undefined, maxKeys: number): Promise<ListPage> {
  if (maxKeys === 0) return { objects: [], prefixes: [], truncated: false };
  const prefix = call.q('prefix');
  const delimiter = call.q('delimiter');
  return call.ctx.ns.listObjects(call.bucket, {
    maxKeys,
    ...(prefix ? { prefix } : {}),
    ...(delimiter ? { delimiter } : {}),
    ...(after ? { after } : {}),
  });
}

function contents(
  o: ObjectRecord,
  enc: (s: string) => string,
  owner: string | undefined,
  name = 'Contents',
): Xml {
  return el(
    name,
    el('Key', enc(o.key)),
    el('LastModified', isoTime(o.lastModified)),
    el('ETag', `"${o.etag}"`),
    o.checksum ? el('ChecksumAlgorithm', o.checksum.algorithm) : undefined,
    el('Size', o.size),
    owner === undefined ? undefined : ownerXml(owner),
    el('StorageClass', 'STANDARD'),
  );
}

function common(p: ListPage, enc: (s: string) => string): Xml[] {
  return p.prefixes.map((x) => el('CommonPrefixes', el('Prefix', enc(x))));
}

export async function listObjectsV2(call: S3Call): Promise<Reply> {
  const b = await call.ownedBucket('read');
  const enc = encoderOf(call);
  const maxKeys = maxKeysOf(call);
  const token = call.q('continuation-token');
  const startAfter = call.q('start-after');
  const after = token !== undefined ? markerOfToken(token) : startAfter;
  const p = await page(call, after, maxKeys);
  const owner = call.q('fetch-owner') === 'true' ? b.owner : undefined;
  const delimiter = call.q('delimiter');
  return xmlReply(
    root(
      'ListBucketResult',
      el('Name', b.name),
      el('Prefix', enc(call.q('prefix') ?? '')),
      delimiter ? el('Delimiter', enc(delimiter)) : undefined,
      el('MaxKeys', maxKeys),
      call.q('encoding-type') ? el('EncodingType', 'url') : undefined,
      el('KeyCount', p.objects.length + p.prefixes.length),
      el('IsTruncated', p.truncated),
      token !== undefined ? el('ContinuationToken', token) : undefined,
      p.truncated && p.last !== undefined ? el('NextContinuationToken', tokenOf(p.last)) : undefined,
      startAfter !== undefined ? el('StartAfter', enc(startAfter)) : undefined,
      ...p.objects.map((o) => contents(o, enc, owner)),
      ...common(p, enc),
    ),
  );
}

export async function listObjectsV1(call: S3Call): Promise<Reply> {
  const b = await call.ownedBucket('read');
  const enc = encoderOf(call);
  const maxKeys = maxKeysOf(call);
  const marker = call.q('marker') ?? '';
  const p = await page(call, marker || undefined, maxKeys);
  const delimiter = call.q('delimiter');
  return xmlReply(
    root(
      'ListBucketResult',
      el('Name', b.name),
      el('Prefix', enc(call.q('prefix') ?? '')),
      el('Marker', enc(marker)),
      // rclone and others page a delimited v1 listing by NextMarker alone.
      p.truncated && p.last !== undefined && delimiter ? el('NextMarker', enc(p.last)) : undefined,
      el('MaxKeys', maxKeys),
      delimiter ? el('Delimiter', enc(delimiter)) : undefined,
      call.q('encoding-type') ? el('EncodingType', 'url') : undefined,
      el('IsTruncated', p.truncated),
      ...p.objects.map((o) => contents(o, enc, b.owner)),
      ...common(p, enc),
    ),
  );
}

/** No versioning: each object is its one version, "null", always the latest. */
export async function listObjectVersions(call: S3Call): Promise<Reply> {
  const b = await call.ownedBucket('read');
  const enc = encoderOf(call);
  const maxKeys = maxKeysOf(call);
  const keyMarker = call.q('key-marker') ?? '';
  const p = await page(call, keyMarker || undefined, maxKeys);
  const delimiter = call.q('delimiter');
  const truncated = p.truncated && p.last !== undefined;
  return xmlReply(
    root(
      'ListVersionsResult',
      el('Name', b.name),
      el('Prefix', enc(call.q('prefix') ?? '')),
      el('KeyMarker', enc(keyMarker)),
      el('VersionIdMarker', call.q('version-id-marker') ?? ''),
      truncated ? el('NextKeyMarker', enc(p.last as string)) : undefined,
      truncated ? el('NextVersionIdMarker', 'null') : undefined,
      el('MaxKeys', maxKeys),
      delimiter ? el('Delimiter', enc(delimiter)) : undefined,
      call.q('encoding-type') ? el('EncodingType', 'url') : undefined,
      el('IsTruncated', p.truncated),
      ...p.objects.map((o) =>
        el(
          'Version',
          el('Key', enc(o.key)),
          el('VersionId', 'null'),
          el('IsLatest', true),
          el('LastModified', isoTime(o.lastModified)),
          el('ETag', `"${o.etag}"`),
          el('Size', o.size),
          ownerXml(b.owner),
          el('StorageClass', 'STANDARD'),
        ),
      ),
      ...common(p, enc),
    ),
  );
}
