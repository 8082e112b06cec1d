/**
 * Multipart uploads through @aws-sdk/client-s3 and @aws-sdk/lib-storage against a real `fdfs start`:
 * a 50 MB Upload, Range reads across parts, Complete's refusals (EntityTooSmall, InvalidPart,
 * InvalidPartOrder, NoSuchUpload) and its idempotence, ListParts, ListMultipartUploads, Abort,
 * UploadPartCopy.
 */
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyOf, type S3Node, startS3Node } from './helpers/s3.js';

const MiB = 1024 * 1024;
const BUCKET = 'multi';
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

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

/** A body whose every 4-byte word is its own offset, so a misplaced byte shows. */
function patterned(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) b.writeUInt32BE(i, i);
  return b;
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { name: string }).name;
  }
  throw new Error('the call succeeded');
}

async function startUpload(key: string): Promise<string> {
  const out = await client.send(
    new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ContentType: 'video/mp4' }),
  );
  return out.UploadId as string;
}

async function part(key: string, uploadId: string, n: number, body: Buffer): Promise<string> {
  const out = await client.send(
    new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: n, Body: body }),
  );
  return out.ETag as string;
}

const complete = (key: string, uploadId: string, parts: { PartNumber: number; ETag: string }[]) =>
  client.send(
    new CompleteMultipartUploadCommand({
      Bucket: BUCKET,
      Key: key,
      UploadId: uploadId,
      MultipartUpload: { Parts: parts },
    }),
  );

describe('lib-storage Upload', () => {
  const size = 50 * MiB;
  const data = patterned(size);

  it('uploads 50 MB in parts and reads it back whole and across part boundaries', async () => {
    const up = new Upload({ client, params: { Bucket: BUCKET, Key: 'big.bin', Body: data } });
    const done = await up.done();
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'big.bin' }));
    expect(head.ContentLength).toBe(size);
    const parts = Math.ceil(size / (5 * MiB));
    expect(done.ETag).toMatch(new RegExp(`^"[0-9a-f]{32}-${parts}"$`));
    const whole = await bodyOf(await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'big.bin' })));
    expect(md5(whole)).toBe(md5(data));
    // 100 bytes either side of the first part boundary: the read spans two FastDFS files.
    const start = 5 * MiB - 100;
    const across = await client.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'big.bin', Range: `bytes=${start}-${start + 199}` }),
    );
    expect((await bodyOf(across)).equals(data.subarray(start, start + 200))).toBe(true);
    const second = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'big.bin', PartNumber: 2 }));
    expect((await bodyOf(second)).equals(data.subarray(5 * MiB, 10 * MiB))).toBe(true);
  });

  it('UploadPartCopy copies a range of another object into a part', async () => {
    const id = await startUpload('copied.bin');
    const first = await client.send(
      new UploadPartCopyCommand({
        Bucket: BUCKET,
        Key: 'copied.bin',
        UploadId: id,
        PartNumber: 1,
        CopySource: `${BUCKET}/big.bin`,
        CopySourceRange: `bytes=0-${5 * MiB - 1}`,
      }),
    );
    const tail = Buffer.from('tail');
    const etag2 = await part('copied.bin', id, 2, tail);
    await complete('copied.bin', id, [
      { PartNumber: 1, ETag: first.CopyPartResult?.ETag as string },
      { PartNumber: 2, ETag: etag2 },
    ]);
    const got = await bodyOf(await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'copied.bin' })));
    expect(got.equals(Buffer.concat([data.subarray(0, 5 * MiB), tail]))).toBe(true);
  });
});

describe('CompleteMultipartUpload', () => {
  const five = patterned(5 * MiB);

  it('refuses small parts, wrong ETags, disorder and unknown uploads; a repeat answers the same', async () => {
    const id = await startUpload('parts.bin');
    const e1 = await part('parts.bin', id, 1, Buffer.from('tiny'));
    const e2 = await part('parts.bin', id, 2, Buffer.from('tiny too'));
    expect(
      await failure(
        complete('parts.bin', id, [
          { PartNumber: 1, ETag: e1 },
          { PartNumber: 2, ETag: e2 },
        ]),
      ),
    ).toBe('EntityTooSmall');
    const big = await part('parts.bin', id, 1, five);
    expect(await failure(complete('parts.bin', id, [{ PartNumber: 1, ETag: '"0123"' }]))).toBe('InvalidPart');
    expect(await failure(complete('parts.bin', id, [{ PartNumber: 3, ETag: e2 }]))).toBe('InvalidPart');
    expect(
      await failure(
        complete('parts.bin', id, [
          { PartNumber: 2, ETag: e2 },
          { PartNumber: 1, ETag: big },
        ]),
      ),
    ).toBe('InvalidPartOrder');
    expect(await failure(complete('parts.bin', 'no-such-upload', [{ PartNumber: 1, ETag: big }]))).toBe(
      'NoSuchUpload',
    );

    const listed = await client.send(
      new ListPartsCommand({ Bucket: BUCKET, Key: 'parts.bin', UploadId: id }),
    );
    expect(listed.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag])).toEqual([
      [1, 5 * MiB, big],
      [2, 8, e2],
    ]);
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
    expect(uploads.Uploads?.map((u) => [u.Key, u.UploadId])).toContainEqual(['parts.bin', id]);

    const parts = [
      { PartNumber: 1, ETag: big },
      { PartNumber: 2, ETag: e2 },
    ];
    const done = await complete('parts.bin', id, parts);
    const expected = createHash('md5')
      .update(
        Buffer.concat([Buffer.from(md5(five), 'hex'), Buffer.from(md5(Buffer.from('tiny too')), 'hex')]),
      )
      .digest('hex');
    expect(done.ETag).toBe(`"${expected}-2"`);
    // Retried by a client that lost the first answer: the same answer, not NoSuchUpload.
    expect((await complete('parts.bin', id, parts)).ETag).toBe(done.ETag);
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'parts.bin' }));
    expect(got.ContentType).toBe('video/mp4');
    expect((await bodyOf(got)).equals(Buffer.concat([five, Buffer.from('tiny too')]))).toBe(true);
  });

  it('Abort removes the upload and its parts', async () => {
    const id = await startUpload('aborted.bin');
    await part('aborted.bin', id, 1, Buffer.from('x'));
    await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'aborted.bin', UploadId: id }));
    expect(
      await failure(client.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'aborted.bin', UploadId: id }))),
    ).toBe('NoSuchUpload');
    expect(await failure(part('aborted.bin', id, 2, Buffer.from('y')))).toBe('NoSuchUpload');
    expect(await failure(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'aborted.bin' })))).toBe(
      'NoSuchKey',
    );
    // A PutObject over a multipart object replaces all of its files.
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'parts.bin', Body: 'small now' }));
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'parts.bin' }));
    expect((await bodyOf(got)).toString()).toBe('small now');
    expect(await s3.tempFiles()).toEqual([]);
  });
});
