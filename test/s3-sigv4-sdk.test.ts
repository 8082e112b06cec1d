/**
 * Requests from @aws-sdk/client-s3 with default settings (and presigned URLs from its signer)
 * reach a node:http server on 127.0.0.1:0 that authenticates them with verifyRequest and decodes
 * bodies with awsChunkedDecoder + bodyVerifier, answering errors through src/s3/errors.ts. What
 * the server stored is compared with what the SDK sent: awkward keys and queries, aws-chunked
 * uploads with each trailer checksum the SDK offers, and the failures a client must see.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  type ChecksumAlgorithm,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyVerifier } from '../src/s3/checksum-verifier.js';
import { awsChunkedDecoder } from '../src/s3/chunked.js';
import { errorXml, s3FailureOf } from '../src/s3/errors.js';
import { verifyRequest } from '../src/s3/sigv4.js';
import type { AuthResult } from '../src/s3/sigv4-types.js';
import { smithySigner, wireQuery } from './helpers/s3-smithy-signer.js';

const AK = 'TESTACCESSKEY01';
const SECRET = 'test-secret+/=key';
const secretOf = (k: string) => (k === AK ? SECRET : undefined);

interface Seen {
  method: string;
  path: string;
  query: string;
  body: Buffer;
  auth: AuthResult;
  checksum: { algorithm: string; value: string } | undefined;
  etag: string;
}
const seen: Seen[] = [];
const stored = new Map<string, Buffer>();

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const sreq = {
    method: req.method ?? 'GET',
    rawPath: q < 0 ? url : url.slice(0, q),
    rawQuery: q < 0 ? '' : url.slice(q + 1),
    headers: req.headers as Record<string, string | undefined>,
  };
  try {
    const auth = verifyRequest(sreq, secretOf, Date.now());
    const chunked =
      auth.payload.kind === 'streaming-signed' || auth.payload.kind === 'streaming-unsigned-trailer';
    const decoder = chunked ? awsChunkedDecoder(auth.payload, sreq.headers) : undefined;
    const verifier = bodyVerifier({ headers: sreq.headers, payload: auth.payload });
    const parts: Buffer[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, cb) => cb(void parts.push(c)) });
    await pipeline(req, decoder ?? new PassThrough(), verifier, sink);
    const body = Buffer.concat(parts);
    seen.push({
      method: sreq.method,
      path: sreq.rawPath,
      query: sreq.rawQuery,
      body,
      auth,
      checksum: decoder?.checksum ?? verifier.checksum,
      etag: verifier.md5Hex,
    });
    if (sreq.method === 'PUT') {
      stored.set(sreq.rawPath, body);
      res.writeHead(200, { etag: `"${verifier.md5Hex}"` }).end();
    } else if (sreq.method === 'GET' && sreq.rawQuery.includes('list-type=2')) {
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>',
      );
    } else {
      const data = stored.get(sreq.rawPath);
      if (!data) res.writeHead(404).end();
      else res.writeHead(200, { 'content-length': data.length, etag: '"x"' }).end(data);
    }
  } catch (err) {
    req.resume();
    const f = s3FailureOf(err);
    res
      .writeHead(f.status, { 'content-type': 'application/xml' })
      .end(errorXml(f, sreq.rawPath, 'TESTREQUEST'));
  }
}

let server: Server;
let endpoint: string;
beforeAll(async () => {
  server = createServer((req, res) => void handle(req, res));
  server.on('request', (_req, res: ServerResponse) => {
    res.sendDate = false; // no Date header: the SDK must not correct its clock for the skew test
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

function client(secret = SECRET, extra: Record<string, unknown> = {}, accessKeyId = AK): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey: secret },
    ...extra,
  });
}

function last(): Seen {
  return seen[seen.length - 1] as Seen;
}

const AWKWARD = [
  'a&b+c.txt',
  'é ü.txt',
  'sub dir/x y.png',
  `quo"te's.txt`,
  "!*()$@=:,;~'.bin",
  'x/./y/../z',
  '100%.txt',
];

describe('@aws-sdk/client-s3 requests verify', () => {
  it('PutObject and GetObject with awkward keys: signature verified, bytes as sent', async () => {
    const s3 = client();
    for (const Key of AWKWARD) {
      const Body = `body of ${Key}`;
      await s3.send(new PutObjectCommand({ Bucket: 'bkt', Key, Body }));
      expect(last().body.toString()).toBe(Body);
      expect(last().auth.accessKey).toBe(AK);
      const got = await s3.send(new GetObjectCommand({ Bucket: 'bkt', Key, Range: 'bytes=0-3' }));
      expect(await got.Body?.transformToString()).toBe(Body);
    }
    s3.destroy();
  });

  it('ListObjectsV2 with an awkward prefix, delimiter and start-after', async () => {
    const s3 = client();
    await s3.send(
      new ListObjectsV2Command({
        Bucket: 'bkt',
        Prefix: 'a&b+c é/ü=%',
        Delimiter: '/',
        StartAfter: "it's (1)*",
        MaxKeys: 7,
      }),
    );
    expect(last().query).toContain('list-type=2');
    s3.destroy();
  });

  it.each(['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const)(
    'a streamed PutObject is aws-chunked with a %s trailer: decoded, trailer verified',
    async (algorithm) => {
      const s3 = client();
      const data = Buffer.alloc(300_000);
      for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 7) & 0xff;
      const Body = Readable.from([
        data.subarray(0, 70_000),
        data.subarray(70_000, 200_001),
        data.subarray(200_001),
      ]);
      await s3.send(
        new PutObjectCommand({
          Bucket: 'bkt',
          Key: 'streamed',
          Body,
          ContentLength: data.length,
          ChecksumAlgorithm: algorithm as ChecksumAlgorithm,
        }),
      );
      expect(last().auth.payload.kind).toBe('streaming-unsigned-trailer');
      expect(last().body.equals(data)).toBe(true);
      expect(last().checksum?.algorithm).toBe(algorithm);
      s3.destroy();
    },
  );

  it('a body altered after signing is refused (signed sha256 or checksum), a tampered chunk too', async () => {
    const flip = (s3: S3Client, at: number) =>
      s3.middlewareStack.addRelativeTo(
        ((next: (a: unknown) => Promise<unknown>) => async (args: { request: { body: unknown } }) => {
          const body = args.request.body;
          if (typeof body === 'string' || body instanceof Uint8Array) {
            const b = Buffer.from(body);
            b[at] = (b[at] as number) ^ 1;
            args.request.body = b;
          } else if (body instanceof Readable) {
            let pos = 0;
            const t = new PassThrough({
              transform(chunk: Buffer, _e, cb) {
                const c = Buffer.from(chunk);
                if (at >= pos && at < pos + c.length) c[at - pos] = (c[at - pos] as number) ^ 1;
                pos += c.length;
                cb(null, c);
              },
            });
            args.request.body = body.pipe(t);
          }
          return next(args);
        }) as never,
        { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'flipAByte' },
        // (the SDK's middleware types are not devDependencies of ours)
      );
    const s3 = client(SECRET, { maxAttempts: 1 });
    flip(s3, 3); // inside the string body; for the aws-chunked stream below, byte 100 is chunk data
    await expect(
      s3.send(new PutObjectCommand({ Bucket: 'bkt', Key: 'k', Body: 'hello tampered world' })),
    ).rejects.toMatchObject({
      name: expect.stringMatching(/^(XAmzContentSHA256Mismatch|BadDigest)$/),
    });
    const data = Buffer.alloc(100_000, 7);
    const s3b = client(SECRET, { maxAttempts: 1 });
    flip(s3b, 100);
    await expect(
      s3b.send(
        new PutObjectCommand({
          Bucket: 'bkt',
          Key: 'k2',
          Body: Readable.from([data]),
          ContentLength: data.length,
        }),
      ),
    ).rejects.toMatchObject({ name: 'BadDigest' });
    s3.destroy();
    s3b.destroy();
  });

  it('a wrong secret, an unknown key and a clock 20 minutes off are refused with S3 codes', async () => {
    const put = new PutObjectCommand({ Bucket: 'bkt', Key: 'k', Body: 'x' });
    const wrong = client('not-the-secret', { maxAttempts: 1 });
    await expect(wrong.send(put)).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
      $metadata: { httpStatusCode: 403 },
    });
    const unknown = client(SECRET, { maxAttempts: 1 }, 'NOSUCHKEY0000');
    await expect(unknown.send(put)).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
    const skewed = client(SECRET, { maxAttempts: 1, systemClockOffset: 20 * 60_000 });
    await expect(skewed.send(put)).rejects.toMatchObject({ name: 'RequestTimeTooSkewed' });
    for (const c of [wrong, unknown, skewed]) c.destroy();
  });
});

describe('presigned URLs from the SDK signer, used with fetch', () => {
  const host = () => new URL(endpoint).host;
  // As @aws-sdk/s3-request-presigner does: the payload is UNSIGNED-PAYLOAD, hoisted into the query.
  async function presign(method: string, path: string, expiresIn: number, signingDate = new Date()) {
    const signed = await smithySigner(AK, SECRET, 'ap-south-1').presign(
      {
        method,
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: Number(new URL(endpoint).port),
        path,
        query: { 'x-id': method === 'PUT' ? 'PutObject' : 'GetObject' },
        headers: { host: host(), 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' },
      },
      { expiresIn, signingDate },
    );
    return `${endpoint}${path}?${wireQuery(signed.query as Record<string, string>)}`;
  }

  it('PUT then GET through presigned URLs', async () => {
    const put = await fetch(await presign('PUT', '/bkt/pre%20signed%2Bkey', 600), {
      method: 'PUT',
      body: 'presigned body',
    });
    expect([put.status, put.status === 200 ? '' : await put.text()]).toEqual([200, '']);
    expect(last().auth).toMatchObject({
      presigned: true,
      region: 'ap-south-1',
      payload: { kind: 'unsigned' },
    });
    const get = await fetch(await presign('GET', '/bkt/pre%20signed%2Bkey', 600));
    expect(await get.text()).toBe('presigned body');
  });

  it('an expired URL is AccessDenied "Request has expired"; a tampered one SignatureDoesNotMatch', async () => {
    const old = await presign('GET', '/bkt/k', 3600, new Date(Date.now() - 2 * 3600_000));
    const res = await fetch(old);
    expect(res.status).toBe(403);
    const text = await res.text();
    expect(text).toContain('<Code>AccessDenied</Code>');
    expect(text).toContain('Request has expired');
    const fresh = await presign('GET', '/bkt/k', 3600);
    expect(fresh).toContain('X-Amz-Content-Sha256=UNSIGNED-PAYLOAD');
    expect((await fetch(fresh)).status).toBe(404); // authenticated; the test server has no such key
    const res2 = await fetch(fresh.replace('/bkt/k', '/bkt/other'));
    expect(res2.status).toBe(403);
    expect(await res2.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
  });
});
