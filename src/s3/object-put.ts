/**
 * PutObject and CopyObject. Write order: the file is durable in FastDFS, then the key is committed;
 * the files of the object it replaces go to the namespace's garbage queue in that same commit and
 * the drain deletes them afterwards. A crash leaves at worst an orphan file, never a dangling key.
 */
import { FdfsError, Status } from '../common/index.js';
import type { ObjectRecord, WriteCondition } from '../namespace/index.js';
import { type Reply, type S3Call, xmlReply } from './call.js';
import type { S3Context } from './context.js';
import { s3Error } from './errors.js';
import { deleteFile, storeFile } from './files.js';
import { checkConditions, fileIdHeader, objectMetaOf } from './headers.js';
import { assertKey } from './names.js';
import { findObject } from './object-get.js';
import { isoTime } from './owner.js';
import { el, root } from './xml-write.js';

/** If-None-Match: * and If-Match on a write (S3 conditional writes). */
export function writeConditionOf(call: S3Call): WriteCondition | undefined {
  const none = call.header('if-none-match');
  const match = call.header('if-match');
  if (none !== undefined && none.trim() !== '*')
    throw s3Error('NotImplemented', 'If-None-Match on a write takes only *.');
  if (none === undefined && match === undefined) return undefined;
  return {
    ...(none !== undefined ? { ifNoneMatch: '*' as const } : {}),
    ...(match !== undefined ? { ifMatch: match.trim().replace(/^"(.*)"$/, '$1') } : {}),
  };
}

/** Commits `rec`; on refusal the new files are deleted again and the refusal answered. */
export async function commit(
  ctx: S3Context,
  rec: ObjectRecord,
  cond: WriteCondition | undefined,
  newFiles: readonly string[],
) {
  let outcome: Awaited<ReturnType<S3Context['ns']['putObject']>>;
  try {
    outcome = await ctx.ns.putObject(rec, cond);
  } catch (err) {
    // Only a write the namespace refused is known not to have landed. After a lost answer (the
    // database gone mid-commit, an I/O error) a key may name these files: their intents stay,
    // and fdfs s3 gc deletes them only if no key does.
    if (err instanceof FdfsError && err.status === Status.EINVAL) await dropFiles(ctx, newFiles);
    else ctx.logger.warn('object commit in doubt; its files are left to gc', { fileIds: newFiles, err });
    throw err;
  }
  if (outcome === 'ok') {
    ctx.kickGarbage();
    return;
  }
  await dropFiles(ctx, newFiles);
  if (outcome === 'no-bucket') throw s3Error('NoSuchBucket', 'The specified bucket does not exist.');
  throw s3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
}

export async function dropFiles(ctx: S3Context, fileIds: readonly string[]): Promise<void> {
  for (const fileId of fileIds) {
    await deleteFile(ctx, fileId).catch((err: unknown) =>
      ctx.logger.warn('could not delete the file of an uncommitted object', { fileId, err }),
    );
  }
}

async function precheck(call: S3Call, bucket: string, key: string, cond: WriteCondition | undefined) {
  if (!cond) return;
  // Checked before the body is stored, to spare the upload; the commit checks again atomically.
  const cur = await call.ctx.ns.getObject(bucket, key);
  if ((cond.ifNoneMatch && cur) || (cond.ifMatch !== undefined && cur?.etag !== cond.ifMatch)) {
    throw s3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
  }
}

export async function putObject(call: S3Call): Promise<Reply> {
  const { ctx } = call;
  const b = await call.ownedBucket();
  const key = call.key;
  assertKey(key);
  const meta = objectMetaOf(call);
  const cond = writeConditionOf(call);
  await precheck(call, b.name, key, cond);
  const body = call.body();
  const stored = await storeFile(ctx, body.stream, { key, group: b.group, size: body.size });
  const checksum = body.checksum();
  const rec: ObjectRecord = {
    bucket: b.name,
    key,
    parts: [{ fileId: stored.fileId, size: stored.size }],
    size: stored.size,
    etag: body.md5Hex(),
    lastModified: ctx.now(),
    ...meta,
    ...(checksum ? { checksum } : {}),
  };
  await commit(ctx, rec, cond, [stored.fileId]);
  ctx.logger.info('object stored', {
    bucket: b.name,
    key,
    fileId: stored.fileId,
    size: stored.size,
    by: call.owner,
  });
  const headers: Record<string, string> = { etag: `"${rec.etag}"`, 'x-fdfs-file-id': stored.fileId };
  if (checksum) headers[`x-amz-checksum-${checksum.algorithm.toLowerCase()}`] = checksum.value;
  return { status: 200, headers };
}

/** x-amz-copy-source: `bucket/key` or `/bucket/key`, %-encoded, optionally `?versionId=null`. */
export function copySourceOf(call: S3Call): { bucket: string; key: string } {
  const raw = call.header('x-amz-copy-source') ?? '';
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const version = q < 0 ? undefined : new URLSearchParams(raw.slice(q + 1)).get('versionId');
  if (version !== undefined && version !== null && version !== 'null') {
    throw s3Error('NoSuchKey', 'The specified version does not exist.');
  }
  let text: string;
  try {
    text = decodeURIComponent(path.replace(/^\//, ''));
  } catch {
    throw s3Error(
      'InvalidArgument',
      'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
    );
  }
  const slash = text.indexOf('/');
  if (slash <= 0 || slash === text.length - 1) {
    throw s3Error(
      'InvalidArgument',
      'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
    );
  }
  return { bucket: text.slice(0, slash), key: text.slice(slash + 1) };
}

/** The source object of a copy, readable by this caller, after the x-amz-copy-source-if-* checks. */
export async function copySource(call: S3Call): Promise<ObjectRecord> {
  const src = copySourceOf(call);
  const sb = await call.ctx.ns.getBucket(src.bucket);
  if (!sb) throw s3Error('NoSuchBucket', 'The specified bucket does not exist.');
  if (sb.owner !== call.owner && !sb.public) throw s3Error('AccessDenied', 'Access Denied');
  const rec = await findObject(call, src.bucket, src.key);
  checkConditions(call, rec, 'x-amz-copy-source-');
  return rec;
}

/** CopyObject: the new key shares the source's FastDFS files (the namespace counts references). */
export async function copyObject(call: S3Call): Promise<Reply> {
  const { ctx } = call;
  const b = await call.ownedBucket();
  const key = call.key;
  assertKey(key);
  const src = await copySource(call);
  const directive = (call.header('x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') {
    throw s3Error('InvalidArgument', 'Unknown metadata directive.');
  }
  if (directive === 'COPY' && src.bucket === b.name && src.key === key) {
    throw s3Error(
      'InvalidRequest',
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  const meta =
    directive === 'REPLACE'
      ? objectMetaOf(call)
      : { contentType: src.contentType, headers: src.headers, meta: src.meta };
  // The shared files must still be referenced when the copy commits: a delete of the source in
  // between has queued them for deletion, and the copy must not point at them then.
  const cond = { ...writeConditionOf(call), requireReferenced: src.parts.map((p) => p.fileId) };
  const rec: ObjectRecord = {
    bucket: b.name,
    key,
    parts: src.parts,
    size: src.size,
    etag: src.etag,
    lastModified: ctx.now(),
    ...meta,
    ...(src.checksum ? { checksum: src.checksum } : {}),
  };
  try {
    await commit(ctx, rec, cond, []);
  } catch (err) {
    if (
      (err as FdfsError).detail === 'PreconditionFailed' &&
      !(await ctx.ns.getObject(src.bucket, src.key))
    ) {
      throw s3Error('NoSuchKey', 'The specified key does not exist.');
    }
    throw err;
  }
  ctx.logger.info('object copied', { bucket: b.name, key, from: `${src.bucket}/${src.key}`, by: call.owner });
  return xmlReply(
    root('CopyObjectResult', el('LastModified', isoTime(rec.lastModified)), el('ETag', `"${rec.etag}"`)),
    200,
    {
      ...fileIdHeader(rec),
    },
  );
}
