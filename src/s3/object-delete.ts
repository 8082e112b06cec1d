/** DeleteObject and DeleteObjects (up to 1,000 keys, quiet mode, Content-MD5 or a checksum required). */
import { readSmall } from './body.js';
import { type Reply, type S3Call, xmlReply } from './call.js';
import { s3Error, s3FailureOf } from './errors.js';
import { assertKey } from './names.js';
import { childrenOf, childText, expectRoot, MAX_XML_BYTES, parseXml } from './xml-parse.js';
import { el, root, type Xml } from './xml-write.js';

const MAX_DELETE_KEYS = 1000;

export async function deleteObject(call: S3Call): Promise<Reply> {
  const b = await call.ownedBucket();
  const key = call.key;
  assertKey(key);
  // A missing key is no error: the answer is the same either way, as S3's.
  if (await call.ctx.ns.deleteObject(b.name, key)) {
    call.ctx.kickGarbage();
    call.ctx.logger.info('object deleted', { bucket: b.name, key, by: call.owner });
  }
  return { status: 204 };
}

function hasIntegrityHeader(call: S3Call): boolean {
  if (call.header('content-md5') !== undefined) return true;
  return (
    Object.keys(call.req.headers).some(
      (h) => h.startsWith('x-amz-checksum-') && h !== 'x-amz-checksum-algorithm',
    ) ||
    (call.header('x-amz-sdk-checksum-algorithm') !== undefined && call.header('x-amz-trailer') !== undefined)
  );
}

export async function deleteObjects(call: S3Call): Promise<Reply> {
  const b = await call.ownedBucket();
  if (!hasIntegrityHeader(call)) {
    throw s3Error('InvalidRequest', 'Missing required header for this request: Content-MD5');
  }
  const doc = expectRoot(parseXml(await readSmall(call.body().stream, MAX_XML_BYTES)), 'Delete');
  const quiet = childText(doc, 'Quiet')?.trim().toLowerCase() === 'true';
  const objects = childrenOf(doc, 'Object');
  if (objects.length === 0 || objects.length > MAX_DELETE_KEYS) {
    throw s3Error(
      'MalformedXML',
      `The XML you provided was not well-formed or did not validate: a Delete names 1 to ${MAX_DELETE_KEYS} objects.`,
    );
  }
  const keys = objects.map((o) => {
    const key = childText(o, 'Key');
    if (key === undefined)
      throw s3Error(
        'MalformedXML',
        'The XML you provided was not well-formed or did not validate: an Object without a Key.',
      );
    return { key, version: childText(o, 'VersionId') };
  });
  const out: Xml[] = [];
  let released = false;
  for (const { key, version } of keys) {
    try {
      assertKey(key);
      if (version !== undefined && version !== 'null')
        throw s3Error('NoSuchKey', 'The specified version does not exist.');
      released = (await call.ctx.ns.deleteObject(b.name, key)) || released;
      if (!quiet)
        out.push(el('Deleted', el('Key', key), version === undefined ? undefined : el('VersionId', version)));
    } catch (err) {
      const f = s3FailureOf(err);
      out.push(el('Error', el('Key', key), el('Code', f.code), el('Message', f.message)));
    }
  }
  if (released) call.ctx.kickGarbage();
  call.ctx.logger.info('objects deleted', { bucket: b.name, count: keys.length, by: call.owner });
  return xmlReply(root('DeleteResult', ...out));
}
