/**
 * GetObject and HeadObject of a hot small object, answered in one turn (src/s3/object-fast.ts),
 * and presigned URLs fetched again (src/s3/presign-memo.ts), against a real `fdfs start`: the fast
 * answer carries the same headers and bytes as the full path; an overwrite, a delete, an expired
 * link, an unsigned x-amz-* header or another Host is seen on the very next fetch of a URL that
 * was served before.
 */
import { request } from 'node:http';
import {
  ChecksumAlgorithm,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyOf, type S3Node, startS3Node } from './helpers/s3.js';

let s3: S3Node;
let client: S3Client;
const BUCKET = 'fast';

beforeAll(async () => {
  s3 = await startS3Node();
  client = s3.client();
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
afterAll(async () => {
  await s3?.stop();
});

const presignGet = (Key: string, o: { expiresIn?: number; signingDate?: Date } = {}) =>
  getSignedUrl(client, new GetObjectCommand({ Bucket: BUCKET, Key }), { expiresIn: 60, ...o });

/** Headers that differ on every answer, and the connection's own (node:http closes after a HEAD). */
const PER_ANSWER = new Set(['x-amz-request-id', 'x-amz-id-2', 'date', 'connection', 'keep-alive']);

function headersOf(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    if (!PER_ANSWER.has(k)) out[k] = v;
  });
  return out;
}

/** A GET with the Host header set as given (fetch does not let a caller choose it). */
function getWithHost(url: string, host: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a hot small object', () => {
  it('is answered with the headers and bytes of the full path, for GET and HEAD', async () => {
    const body = Buffer.from('hot bytes '.repeat(400));
    await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'dir/hot é.txt',
        Body: body,
        ContentType: 'text/plain; charset=utf-8',
        CacheControl: 'max-age=60',
        ContentDisposition: 'inline; filename="hot.txt"',
        Metadata: { colour: 'blue' },
        ChecksumAlgorithm: ChecksumAlgorithm.CRC32,
      }),
    );
    const url = await presignGet('dir/hot é.txt');
    const first = await fetch(url); // the full path, which puts the bytes in memory
    expect(Buffer.from(await first.arrayBuffer())).toEqual(body);
    const hot = await fetch(url);
    const hotBody = Buffer.from(await hot.arrayBuffer());
    // A condition that holds sends the request down the full path, answering 200 all the same.
    const full = await fetch(url, { headers: { 'if-none-match': '"not-this-etag"' } });
    expect(hot.status).toBe(200);
    expect(hotBody).toEqual(body);
    expect(Buffer.from(await full.arrayBuffer())).toEqual(body);
    expect(headersOf(hot)).toEqual(headersOf(full));
    expect(headersOf(hot)).toMatchObject({
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'max-age=60',
      'content-disposition': 'inline; filename="hot.txt"',
      'x-amz-meta-colour': 'blue',
      'content-length': String(body.length),
      'accept-ranges': 'bytes',
    });
    expect(hot.headers.get('x-fdfs-file-id')).toMatch(/^group1\/M00\//);
    expect(hot.headers.get('x-amz-request-id')).not.toBe(first.headers.get('x-amz-request-id'));
    // x-amz-id-2: base64 of the endpoint's host id (24 hex digits) and the request id.
    const ids = [first, hot, full].map((r) => ({
      id: r.headers.get('x-amz-request-id') ?? '',
      id2: Buffer.from(r.headers.get('x-amz-id-2') ?? '', 'base64').toString(),
    }));
    for (const { id, id2 } of ids) {
      expect(id).toMatch(/^[0-9A-F]{16}$/);
      expect(id2).toMatch(/^[0-9a-f]{24}[0-9A-F]{16}$/);
      expect(id2.slice(24)).toBe(id);
      expect(id2.slice(0, 24)).toBe(ids[0]?.id2.slice(0, 24));
    }

    const headUrl = await getSignedUrl(
      client,
      new HeadObjectCommand({ Bucket: BUCKET, Key: 'dir/hot é.txt' }),
      { expiresIn: 60 },
    );
    const heads = [await fetch(headUrl, { method: 'HEAD' }), await fetch(headUrl, { method: 'HEAD' })];
    const fullHead = await fetch(headUrl, { method: 'HEAD', headers: { 'if-none-match': '"not-this"' } });
    expect(headersOf(fullHead)).toEqual(headersOf(full));
    for (const h of heads) {
      expect(h.status).toBe(200);
      expect(headersOf(h)).toEqual(headersOf(fullHead));
      expect((await h.arrayBuffer()).byteLength).toBe(0);
    }

    // The SDK asks for the stored checksum (x-amz-checksum-mode) on every GetObject.
    for (let i = 0; i < 2; i++) {
      const out = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'dir/hot é.txt' }));
      expect(await bodyOf(out)).toEqual(body);
      expect(out.ChecksumCRC32).toMatch(/^[A-Za-z0-9+/]{6}==$/);
      expect(out.Metadata).toEqual({ colour: 'blue' });
    }
  });

  it('shows an overwrite and a delete on the next fetch of the same URL', async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'changing', Body: 'first version' }));
    const url = await presignGet('changing');
    for (let i = 0; i < 2; i++) expect(await (await fetch(url)).text()).toBe('first version');
    const etag1 = (await fetch(url)).headers.get('etag');
    await client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'changing', Body: 'second', Metadata: { v: '2' } }),
    );
    const after = await fetch(url);
    expect(await after.text()).toBe('second');
    expect(after.headers.get('etag')).not.toBe(etag1);
    expect(after.headers.get('x-amz-meta-v')).toBe('2');
    expect(await (await fetch(url)).text()).toBe('second');
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'changing' }));
    const gone = await fetch(url);
    expect(gone.status).toBe(404);
    expect(await gone.text()).toContain('<Code>NoSuchKey</Code>');
  });
});

describe('a presigned URL fetched again', () => {
  it('is refused once it has expired, with an unsigned x-amz-* header, or under another Host', async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'link', Body: 'linked' }));
    // Signed 3,597 s ago for an hour: three seconds left.
    const url = await presignGet('link', {
      expiresIn: 3600,
      signingDate: new Date(Date.now() - 3597_000),
    });
    for (let i = 0; i < 2; i++) expect(await (await fetch(url)).text()).toBe('linked');

    const extra = await fetch(url, { headers: { 'x-amz-meta-added': 'later' } });
    expect(extra.status).toBe(403);
    expect(await extra.text()).toContain('were not signed: x-amz-meta-added');

    const { port } = s3.node.s3;
    const moved = await getWithHost(url, `localhost:${port}`);
    expect(moved.status).toBe(403);
    expect(moved.text).toContain('<Code>SignatureDoesNotMatch</Code>');

    await new Promise((r) => setTimeout(r, 3500));
    const late = await fetch(url);
    expect(late.status).toBe(403);
    expect(await late.text()).toContain('Request has expired');
  });
});
