/** ListParts and ListMultipartUploads. */
import { type Reply, type S3Call, xmlReply } from './call.js';
import { s3Error } from './errors.js';
import { encoderOf } from './list-ops.js';
import { uploadOf } from './multipart.js';
import { isoTime, ownerXml } from './owner.js';
import { el, root } from './xml-write.js';

const MAX_LIST = 1000;

function capOf(call: S3Call, name: string): number {
  const text = call.q(name);
  if (text === undefined) return MAX_LIST;
  if (!/^\d{1,10}$/.test(text)) throw s3Error('InvalidArgument', `${name} must be a non-negative integer.`);
  return Math.min(Number(text), MAX_LIST);
}

export async function listParts(call: S3Call): Promise<Reply> {
  const b = await call.ownedBucket();
  const u = await uploadOf(call, b.name);
  const max = capOf(call, 'max-parts');
  const markerText = call.q('part-number-marker') ?? '0';
  if (!/^\d{1,5}$/.test(markerText))
    throw s3Error('InvalidArgument', 'part-number-marker must be an integer.');
  const marker = Number(markerText);
  // One more than asked tells whether the listing is truncated.
  const parts = max === 0 ? [] : await call.ctx.ns.listParts(u.uploadId, marker, max + 1);
  const shown = parts.slice(0, max);
  const truncated = parts.length > max;
  return xmlReply(
    root(
      'ListPartsResult',
      el('Bucket', b.name),
      el('Key', u.key),
      el('UploadId', u.uploadId),
      ownerXml(u.owner, 'Initiator'),
      ownerXml(b.owner),
      el('StorageClass', 'STANDARD'),
      el('PartNumberMarker', marker),
      el('NextPartNumberMarker', shown.at(-1)?.partNumber ?? marker),
      el('MaxParts', max),
      el('IsTruncated', truncated),
      ...shown.map((p) =>
        el(
          'Part',
          el('PartNumber', p.partNumber),
          el('LastModified', isoTime(p.lastModified)),
          el('ETag', `"${p.etag}"`),
          el('Size', p.size),
        ),
      ),
    ),
  );
}

/**
 * ListMultipartUploads: pages of at most max-uploads (default and cap 1000) uploads and common
 * prefixes; when more remain, NextKeyMarker and NextUploadIdMarker (none after a common prefix)
 * are the key-marker and upload-id-marker of the next page.
 */
export async function listUploads(call: S3Call): Promise<Reply> {
  const b = await call.ownedBucket();
  const enc = encoderOf(call);
  const max = capOf(call, 'max-uploads');
  const prefix = call.q('prefix');
  const delimiter = call.q('delimiter');
  const keyMarker = call.q('key-marker');
  // S3 ignores upload-id-marker without key-marker.
  const uploadIdMarker = keyMarker ? call.q('upload-id-marker') : undefined;
  const page = await call.ctx.ns.listUploads(b.name, {
    max,
    ...(prefix ? { prefix } : {}),
    ...(delimiter ? { delimiter } : {}),
    ...(keyMarker ? { keyMarker } : {}),
    ...(uploadIdMarker ? { uploadIdMarker } : {}),
  });
  const next = page.truncated ? page.next : undefined;
  return xmlReply(
    root(
      'ListMultipartUploadsResult',
      el('Bucket', b.name),
      el('KeyMarker', enc(keyMarker ?? '')),
      el('UploadIdMarker', uploadIdMarker ?? ''),
      next ? el('NextKeyMarker', enc(next.keyMarker)) : undefined,
      next?.uploadIdMarker ? el('NextUploadIdMarker', next.uploadIdMarker) : undefined,
      el('Prefix', enc(prefix ?? '')),
      delimiter ? el('Delimiter', enc(delimiter)) : undefined,
      el('MaxUploads', max),
      call.q('encoding-type') ? el('EncodingType', 'url') : undefined,
      el('IsTruncated', page.truncated),
      ...page.uploads.map((u) =>
        el(
          'Upload',
          el('Key', enc(u.key)),
          el('UploadId', u.uploadId),
          ownerXml(u.owner, 'Initiator'),
          ownerXml(u.owner),
          el('StorageClass', 'STANDARD'),
          el('Initiated', isoTime(u.initiatedAt)),
        ),
      ),
      ...page.prefixes.map((p) => el('CommonPrefixes', el('Prefix', enc(p)))),
    ),
  );
}
