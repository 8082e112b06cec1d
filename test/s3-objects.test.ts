/**
 * Objects through @aws-sdk/client-s3 (default settings, path style) against a real `fdfs start`:
 * PutObject, GetObject (Range, conditionals, response-* overrides), HeadObject, CopyObject,
 * DeleteObject, DeleteObjects, awkward keys, presigned GET and PUT through fetch.
 */
import { createHash } from 'node:crypto';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './helpers/node-process.js';
import { bodyOf, type S3Node, startS3Node } from './helpers/s3.js';

let s3: S3Node;
let client: S3Client;
const BUCKET = 'objects';

beforeAll(async () => {
  s3 = await startS3Node();
  client = s3.client();
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
afterAll(async () => {
  await s3?.stop();
});

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const put = (Key: string, Body: string | Buffer, extra: Record<string, unknown> = {}) =>
  client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body, ...extra }));
const get = (Key: string, extra: Record<string, unknown> = {}) =>
  client.send(new GetObjectCommand({ Bucket: BUCKET, Key, ...extra }));

/** Raw headers of a HEAD, through a presigned URL (the SDK hides x-fdfs-file-id). */
async function rawHead(key: string): Promise<Headers> {
  const url = await getSignedUrl(client, new HeadObjectCommand({ Bucket: BUCKET, Key: key }), {
    expiresIn: 60,
  });
  const res = await fetch(url, { method: 'HEAD' });
  expect(res.status).toBe(200);
  return res.headers;
}

/** The S3 error an SDK call fails with: its code and HTTP status. */
async function failure(p: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('the call succeeded');
}

describe('PutObject / GetObject / HeadObject', () => {
  it('stores a body as one FastDFS file: ETag, metadata, standard headers, file id', async () => {
    const body = Buffer.from('hello s3 over fastdfs');
    const out = await put('greeting.txt', body, {
      ContentType: 'text/plain',
      Metadata: { author: 'me' },
      CacheControl: 'max-age=60',
      ContentDisposition: 'inline',
    });
    expect(out.ETag).toBe(`"${md5(body)}"`);
    const got = await get('greeting.txt');
    expect((await bodyOf(got)).equals(body)).toBe(true);
    expect([got.ContentType, got.CacheControl, got.ContentDisposition, got.ETag]).toEqual([
      'text/plain',
      'max-age=60',
      'inline',
      out.ETag,
    ]);
    expect(got.Metadata).toEqual({ author: 'me' });
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'greeting.txt' }));
    expect(head.ContentLength).toBe(body.length);
    // The same bytes are an ordinary FastDFS file: the gateway serves them by file id.
    const fileId = (await rawHead('greeting.txt')).get('x-fdfs-file-id');
    expect(fileId).toMatch(/^group1\/M00\//);
    const direct = await fetch(`http://${s3.node.http.host}:${s3.node.http.port}/${fileId}`);
    expect(Buffer.from(await direct.arrayBuffer()).equals(body)).toBe(true);
  });

  it('answers one Range, and InvalidRange (416) past the end', async () => {
    await put('digits.txt', '0123456789');
    const part = await get('digits.txt', { Range: 'bytes=2-5' });
    expect((await bodyOf(part)).toString()).toBe('2345');
    expect(part.ContentRange).toBe('bytes 2-5/10');
    expect((await bodyOf(await get('digits.txt', { Range: 'bytes=-3' }))).toString()).toBe('789');
    expect((await bodyOf(await get('digits.txt', { Range: 'bytes=7-' }))).toString()).toBe('789');
    expect(await failure(get('digits.txt', { Range: 'bytes=10-' }))).toEqual({
      name: 'InvalidRange',
      status: 416,
    });
  });

  it('honours If-Match, If-None-Match, If-Modified-Since and If-Unmodified-Since', async () => {
    const { ETag } = await put('cond.txt', 'conditional');
    const past = new Date(Date.now() - 3_600_000);
    const future = new Date(Date.now() + 3_600_000);
    expect((await bodyOf(await get('cond.txt', { IfMatch: ETag }))).toString()).toBe('conditional');
    expect(await failure(get('cond.txt', { IfMatch: '"0000"' }))).toEqual({
      name: 'PreconditionFailed',
      status: 412,
    });
    expect((await failure(get('cond.txt', { IfNoneMatch: ETag }))).status).toBe(304);
    expect((await failure(get('cond.txt', { IfModifiedSince: future }))).status).toBe(304);
    expect(await failure(get('cond.txt', { IfUnmodifiedSince: past }))).toEqual({
      name: 'PreconditionFailed',
      status: 412,
    });
    // S3's precedence: a passing If-Match wins over a failing If-Unmodified-Since.
    expect((await get('cond.txt', { IfMatch: ETag, IfUnmodifiedSince: past })).ETag).toBe(ETag);
  });

  it('applies response-* overrides', async () => {
    const got = await get('greeting.txt', {
      ResponseContentType: 'application/x-test',
      ResponseContentDisposition: 'attachment; filename="g.txt"',
      ResponseCacheControl: 'no-store',
    });
    expect([got.ContentType, got.ContentDisposition, got.CacheControl]).toEqual([
      'application/x-test',
      'attachment; filename="g.txt"',
      'no-store',
    ]);
  });

  it('refuses a bad Content-MD5 (InvalidDigest) and a wrong one (BadDigest), storing nothing', async () => {
    expect(await failure(put('md5.txt', 'abc', { ContentMD5: 'not-base64' }))).toEqual({
      name: 'InvalidDigest',
      status: 400,
    });
    const other = createHash('md5').update('xyz').digest('base64');
    expect(await failure(put('md5.txt', 'abc', { ContentMD5: other }))).toEqual({
      name: 'BadDigest',
      status: 400,
    });
    expect((await failure(get('md5.txt'))).name).toBe('NoSuchKey');
    expect(await s3.tempFiles()).toEqual([]);
  });

  it('overwriting a key removes the old file through the garbage drain', async () => {
    await put('over.txt', 'first');
    const oldId = (await rawHead('over.txt')).get('x-fdfs-file-id');
    await put('over.txt', 'second');
    expect((await bodyOf(await get('over.txt'))).toString()).toBe('second');
    const direct = `http://${s3.node.http.host}:${s3.node.http.port}/${oldId}`;
    await eventually(async () => expect((await fetch(direct)).status).toBe(404));
  });
});

describe('awkward keys', () => {
  const keys = [
    'a&b+c.txt',
    'é ü.txt',
    'sub dir/x y.png',
    `quote"s'.txt`,
    '../x',
    'a//b',
    '100%.txt',
    'x?y#z',
  ];
  it('stores, lists, reads and deletes each key as a name, never a path', async () => {
    for (const k of keys) await put(k, `body of ${k}`);
    const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: '' }));
    const names = listed.Contents?.map((c) => c.Key) ?? [];
    for (const k of keys) expect(names).toContain(k);
    for (const k of keys) expect((await bodyOf(await get(k))).toString()).toBe(`body of ${k}`);
    for (const k of keys) await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: k }));
    for (const k of keys) expect((await failure(get(k))).name).toBe('NoSuchKey');
  });
});

describe('CopyObject', () => {
  it('shares the stored file, copies or replaces metadata, checks copy conditions', async () => {
    await put('src.txt', 'copy me', { ContentType: 'text/plain', Metadata: { a: '1' } });
    const srcId = (await rawHead('src.txt')).get('x-fdfs-file-id');
    const copied = await client.send(
      new CopyObjectCommand({ Bucket: BUCKET, Key: 'dst.txt', CopySource: `${BUCKET}/src.txt` }),
    );
    expect(copied.CopyObjectResult?.ETag).toBe(`"${md5('copy me')}"`);
    expect((await rawHead('dst.txt')).get('x-fdfs-file-id')).toBe(srcId);
    const got = await get('dst.txt');
    expect([(await bodyOf(got)).toString(), got.ContentType, got.Metadata?.a]).toEqual([
      'copy me',
      'text/plain',
      '1',
    ]);
    await client.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: 'dst.txt',
        CopySource: `${BUCKET}/src.txt`,
        MetadataDirective: 'REPLACE',
        ContentType: 'application/x-new',
        Metadata: { b: '2' },
      }),
    );
    const replaced = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'dst.txt' }));
    expect([replaced.ContentType, replaced.Metadata]).toEqual(['application/x-new', { b: '2' }]);
    // Deleting the source keeps the copy's bytes: the file is referenced twice.
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'src.txt' }));
    expect((await bodyOf(await get('dst.txt'))).toString()).toBe('copy me');
    expect(
      await failure(
        client.send(
          new CopyObjectCommand({
            Bucket: BUCKET,
            Key: 'x.txt',
            CopySource: `${BUCKET}/dst.txt`,
            CopySourceIfMatch: '"00"',
          }),
        ),
      ),
    ).toEqual({ name: 'PreconditionFailed', status: 412 });
    expect(
      (
        await failure(
          client.send(
            new CopyObjectCommand({ Bucket: BUCKET, Key: 'dst.txt', CopySource: `${BUCKET}/dst.txt` }),
          ),
        )
      ).name,
    ).toBe('InvalidRequest');
    expect(
      (
        await failure(
          client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'y.txt', CopySource: `${BUCKET}/nope` })),
        )
      ).name,
    ).toBe('NoSuchKey');
  });
});

describe('DeleteObjects', () => {
  it('deletes many keys, reports each, quiet reports only errors', async () => {
    for (const k of ['d1', 'd2', 'd3']) await put(k, k);
    const out = await client.send(
      new DeleteObjectsCommand({
        Bucket: BUCKET,
        Delete: { Objects: [{ Key: 'd1' }, { Key: 'd2' }, { Key: 'missing' }] },
      }),
    );
    expect(out.Deleted?.map((d) => d.Key).sort()).toEqual(['d1', 'd2', 'missing']);
    const quiet = await client.send(
      new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Quiet: true, Objects: [{ Key: 'd3' }] } }),
    );
    expect(quiet.Deleted ?? []).toEqual([]);
    expect((await failure(get('d3'))).name).toBe('NoSuchKey');
  });

  it('refuses 1,001 keys as MalformedXML and deletes none of them', async () => {
    await put('keep', 'kept');
    const Objects = Array.from({ length: 1001 }, (_, i) => ({ Key: i === 0 ? 'keep' : `k${i}` }));
    expect(
      await failure(client.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects } }))),
    ).toEqual({
      name: 'MalformedXML',
      status: 400,
    });
    expect((await bodyOf(await get('keep'))).toString()).toBe('kept');
  });
});

describe('presigned URLs', () => {
  it('GET and PUT through fetch; an expired or altered URL is refused', async () => {
    const putUrl = await getSignedUrl(
      client,
      new PutObjectCommand({ Bucket: BUCKET, Key: 'presigned.bin' }),
      {
        expiresIn: 120,
      },
    );
    const res = await fetch(putUrl, { method: 'PUT', body: 'via presigned put' });
    expect(res.status).toBe(200);
    const getUrl = await getSignedUrl(
      client,
      new GetObjectCommand({ Bucket: BUCKET, Key: 'presigned.bin' }),
      {
        expiresIn: 120,
      },
    );
    expect(await (await fetch(getUrl)).text()).toBe('via presigned put');
    const altered = getUrl.replace('presigned.bin', 'greeting.txt');
    const bad = await fetch(altered);
    expect(bad.status).toBe(403);
    expect(await bad.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    const anonymous = await fetch(`${s3.endpoint}/${BUCKET}/presigned.bin`);
    expect(anonymous.status).toBe(403);
    expect(await anonymous.text()).toContain('<Code>AccessDenied</Code>');
  });
});
