/**
 * Bad input against a real `fdfs start`: each request gets its S3 error, nothing is stored (no key,
 * no FastDFS file, no temp file), and the node keeps serving. Requests are made by
 * @aws-sdk/client-s3 or signed by @smithy/signature-v4 (the SDK's signer) when the body must be
 * something no SDK command sends.
 */
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyOf, type S3Node, signedRequest, startS3Node } from './helpers/s3.js';

const BUCKET = 'bad';
let s3: S3Node;
let client: S3Client;

beforeAll(async () => {
  s3 = await startS3Node();
  client = s3.client();
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
afterAll(async () => {
  await s3?.stop();
});

/** FastDFS files on the node's store path (data/HH/LL/name). */
async function storedFiles(): Promise<string[]> {
  const root = join(s3.node.base, 'storage', 'data');
  const all = (await readdir(root, { recursive: true })) as string[];
  return all.filter((p) => /^[0-9A-F]{2}\/[0-9A-F]{2}\/[^/]+$/.test(p)).sort();
}

async function failure(p: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('the call succeeded');
}

function codeOf(xml: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];
}

/** After a refusal: the key is absent, no file or temp file was added, and a normal PUT still works. */
async function nothingStored(key: string, filesBefore: string[]): Promise<void> {
  expect((await failure(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key })))).name).toBe(
    'NoSuchKey',
  );
  expect(await storedFiles()).toEqual(filesBefore);
  expect(await s3.tempFiles()).toEqual([]);
}

describe('refused requests', () => {
  it('a wrong secret is SignatureDoesNotMatch, an unknown key InvalidAccessKeyId', async () => {
    const wrong = s3.client({ secretAccessKey: 'not-the-secret-at-all' });
    expect(await failure(wrong.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'w', Body: 'w' })))).toEqual({
      name: 'SignatureDoesNotMatch',
      status: 403,
    });
    const stranger = s3.client({ accessKeyId: 'NOBODY00000000000000' });
    expect((await failure(stranger.send(new ListObjectsV2Command({ Bucket: BUCKET })))).name).toBe(
      'InvalidAccessKeyId',
    );
    await nothingStored('w', await storedFiles());
  });

  it('a body that is not what was signed is refused after streaming, and its file removed', async () => {
    const before = await storedFiles();
    const body = Buffer.alloc(300_000, 0x41);
    const tampered = Buffer.from(body);
    tampered[150_000] = 0x42;
    const r = await signedRequest(s3, {
      method: 'PUT',
      path: `/${BUCKET}/signed.bin`,
      body,
      sendBody: tampered,
    });
    expect([r.status, codeOf(r.text)]).toEqual([400, 'XAmzContentSHA256Mismatch']);
    expect(r.headers['x-amz-request-id']).toMatch(/^[0-9A-F]{16}$/);
    expect(r.text).toContain(`<RequestId>${r.headers['x-amz-request-id']}</RequestId>`);
    await nothingStored('signed.bin', before);
  });

  it('an aws-chunked body altered after its checksum trailer was computed is BadDigest', async () => {
    const before = await storedFiles();
    const flip = s3.client();
    // Flips one data byte of the framed body the SDK streams: the CRC32 trailer no longer matches.
    flip.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { body: Readable };
        let seen = 0;
        req.body = req.body.pipe(
          new Transform({
            transform(chunk: Buffer, _e, cb) {
              const c = Buffer.from(chunk);
              if (seen <= 100 && seen + c.length > 100) c[100 - seen] = (c[100 - seen] as number) ^ 1;
              seen += c.length;
              cb(null, c);
            },
          }),
        );
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low' },
    );
    const stream = Readable.from([Buffer.alloc(64 * 1024, 0x61)]);
    const out = await failure(
      flip.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: 'chunked.bin', Body: stream, ContentLength: 64 * 1024 }),
      ),
    );
    expect(out).toEqual({ name: 'BadDigest', status: 400 });
    await nothingStored('chunked.bin', before);
  });

  it('malformed XML is MalformedXML (DeleteObjects, CompleteMultipartUpload, CreateBucket)', async () => {
    const bodies = [
      '<Delete><Object><Key>a</Key></Object>',
      '<!DOCTYPE x [<!ENTITY e "x">]><Delete/>',
      'not xml',
    ];
    for (const body of bodies) {
      const md5 = createHash('md5').update(body).digest('base64');
      const r = await signedRequest(s3, {
        method: 'POST',
        path: `/${BUCKET}`,
        query: { delete: '' },
        headers: { 'content-md5': md5 },
        body,
      });
      expect([r.status, codeOf(r.text)]).toEqual([400, 'MalformedXML']);
    }
    const noMd5 = await signedRequest(s3, {
      method: 'POST',
      path: `/${BUCKET}`,
      query: { delete: '' },
      body: '<Delete><Object><Key>a</Key></Object></Delete>',
    });
    expect([noMd5.status, codeOf(noMd5.text)]).toEqual([400, 'InvalidRequest']);
    const up = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp.bin' }));
    const complete = await signedRequest(s3, {
      method: 'POST',
      path: `/${BUCKET}/mp.bin`,
      query: { uploadId: up.UploadId as string },
      body: '<CompleteMultipartUpload><Part><PartNumber>x</PartNumber></Part></CompleteMultipartUpload>',
    });
    expect([complete.status, codeOf(complete.text)]).toEqual([400, 'MalformedXML']);
    const bucket = await signedRequest(s3, {
      method: 'PUT',
      path: '/xml-bucket',
      body: '<CreateBucketConfiguration>',
    });
    expect([bucket.status, codeOf(bucket.text)]).toEqual([400, 'MalformedXML']);
  });

  it('a huge declared part is EntityTooLarge before its body is read', async () => {
    const up = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'huge.bin' }));
    const r = await signedRequest(s3, {
      method: 'PUT',
      path: `/${BUCKET}/huge.bin`,
      query: { partNumber: '1', uploadId: up.UploadId as string },
      headers: { 'content-length': String(6 * 1024 ** 3) },
      payloadHash: 'UNSIGNED-PAYLOAD',
      partial: 1000,
    });
    expect([r.status, codeOf(r.text)]).toEqual([400, 'EntityTooLarge']);
  });

  it('an expired presigned URL is AccessDenied', async () => {
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: BUCKET, Key: 'any' }), {
      expiresIn: 60,
      signingDate: new Date(Date.now() - 3_600_000),
    });
    const r = await fetch(url);
    expect(r.status).toBe(403);
    expect(codeOf(await r.text())).toBe('AccessDenied');
  });

  it('a client that half-closes after its PutObject still gets the answer', async () => {
    const url = new URL(
      await getSignedUrl(client, new PutObjectCommand({ Bucket: BUCKET, Key: 'fin.txt' }), {
        expiresIn: 600,
      }),
    );
    const body = 'sent, then FIN';
    const answer = await new Promise<string>((resolve, reject) => {
      const sock = connect(Number(url.port), url.hostname);
      let got = '';
      sock.on('data', (c: Buffer) => {
        got += c.toString('latin1');
      });
      sock.on('error', reject);
      sock.on('close', () => resolve(got));
      sock.end(
        `PUT ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
    });
    expect(answer.slice(0, 15)).toBe('HTTP/1.1 200 OK');
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'fin.txt' }));
    expect((await bodyOf(got)).toString()).toBe(body);
  });

  it('after all of it the node still serves and no temp file is left', async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'fine.txt', Body: 'still serving' }));
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'fine.txt' }));
    expect((await bodyOf(got)).toString()).toBe('still serving');
    expect(await s3.tempFiles()).toEqual([]);
  });
});
