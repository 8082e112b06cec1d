/**
 * CompleteMultipartUpload: the listed parts, in ascending order, each as uploaded (ETag), all but
 * the last at least 5 MiB, become one object whose ETag is the MD5 of the parts' MD5s plus `-N`.
 * A repeated Complete of an upload already completed answers as the first one did.
 */
import { createHash } from 'node:crypto';
import type { ObjectRecord, PartRecord } from '../namespace/index.js';
import { readSmall } from './body.js';
import { type Reply, type S3Call, xmlReply } from './call.js';
import { s3Error } from './errors.js';
import { fileIdHeader } from './headers.js';
import { MAX_PART_NUMBER, uploadOf } from './multipart.js';
import { writeConditionOf } from './object-put.js';
import { childrenOf, childText, expectRoot, MAX_XML_BYTES, parseXml } from './xml-parse.js';
import { el, root } from './xml-write.js';

export const MIN_PART_SIZE = 5 * 1024 * 1024;

interface Listed {
  readonly partNumber: number;
  readonly etag: string;
}

function listedParts(body: Buffer): Listed[] {
  const doc = expectRoot(parseXml(body), 'CompleteMultipartUpload');
  const parts = childrenOf(doc, 'Part').map((p) => {
    const n = childText(p, 'PartNumber')?.trim() ?? '';
    const etag = childText(p, 'ETag')?.trim();
    if (!/^\d{1,5}$/.test(n) || etag === undefined) {
      throw s3Error(
        'MalformedXML',
        'The XML you provided was not well-formed or did not validate: a Part needs PartNumber and ETag.',
      );
    }
    return { partNumber: Number(n), etag: etag.replace(/^"(.*)"$/, '$1') };
  });
  if (parts.length === 0) {
    throw s3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate: no parts.');
  }
  for (let i = 1; i < parts.length; i++) {
    if ((parts[i] as Listed).partNumber <= (parts[i - 1] as Listed).partNumber) {
      throw s3Error(
        'InvalidPartOrder',
        'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
      );
    }
  }
  return parts;
}

function resultXml(bucket: string, key: string, etag: string) {
  const location = `/${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`;
  return root(
    'CompleteMultipartUploadResult',
    el('Location', location),
    el('Bucket', bucket),
    el('Key', key),
    el('ETag', `"${etag}"`),
  );
}

export function multipartEtag(md5s: readonly string[]): string {
  const all = createHash('md5');
  for (const m of md5s) all.update(Buffer.from(m, 'hex'));
  return `${all.digest('hex')}-${md5s.length}`;
}

export async function completeUpload(call: S3Call): Promise<Reply> {
  const { ctx } = call;
  const b = await call.ownedBucket();
  const uploadId = call.q('uploadId') ?? '';
  const body = await readSmall(call.body().stream, MAX_XML_BYTES);
  const again = async () => {
    const done = await ctx.ns.getCompleted(uploadId);
    if (done && done.bucket === b.name && done.key === call.key)
      return xmlReply(resultXml(b.name, call.key, done.etag));
    return undefined;
  };
  const u = await uploadOf(call, b.name).catch(async (err: unknown) => {
    if (await again()) return undefined;
    throw err;
  });
  if (!u) return (await again()) as Reply;
  const listed = listedParts(body);
  const stored = new Map<number, PartRecord>();
  for (const p of await ctx.ns.listParts(uploadId, 0, MAX_PART_NUMBER)) stored.set(p.partNumber, p);
  const chosen: PartRecord[] = [];
  for (const [i, l] of listed.entries()) {
    const p = stored.get(l.partNumber);
    if (!p || p.etag !== l.etag) {
      throw s3Error(
        'InvalidPart',
        "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
      );
    }
    if (i < listed.length - 1 && p.size < MIN_PART_SIZE) {
      throw s3Error(
        'EntityTooSmall',
        'Your proposed upload is smaller than the minimum allowed object size.',
      );
    }
    chosen.push(p);
  }
  const rec: ObjectRecord = {
    bucket: b.name,
    key: u.key,
    parts: chosen.map((p) => ({ fileId: p.fileId, size: p.size })),
    size: chosen.reduce((n, p) => n + p.size, 0),
    etag: multipartEtag(chosen.map((p) => p.etag)),
    lastModified: ctx.now(),
    contentType: u.contentType,
    headers: u.headers,
    meta: u.meta,
  };
  const outcome = await ctx.ns.completeUpload(uploadId, rec, writeConditionOf(call));
  if (outcome === 'no-upload') {
    const answer = await again();
    if (answer) return answer;
    throw s3Error('NoSuchUpload', 'The specified multipart upload does not exist.');
  }
  if (outcome === 'precondition-failed') {
    throw s3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
  }
  ctx.kickGarbage();
  ctx.logger.info('multipart upload completed', {
    bucket: b.name,
    key: u.key,
    parts: chosen.length,
    size: rec.size,
    by: call.owner,
  });
  return xmlReply(resultXml(b.name, u.key, rec.etag), 200, fileIdHeader(rec));
}
