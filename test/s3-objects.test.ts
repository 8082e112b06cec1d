/** PutObject, GetObject, HeadObject, CopyObject, DeleteObject(s) through @aws-sdk/client-s3 against fdfs start. */
import { createHash } from 'node:crypto';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe('objects', () => {
  it('puts and gets a body, with its ETag, metadata and the FastDFS file id', async () => {
    const body = Buffer.from('hello s3 over fastdfs');
    const put = await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'greeting.txt',
        Body: body,
        ContentType: 'text/plain',
        Metadata: { author: 'me' },
        CacheControl: 'max-age=60',
      }),
    );
    expect(put.ETag).toBe(`"${md5(body)}"`);
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'greeting.txt' }));
    expect((await bodyOf(got)).toString()).toBe(body.toString());
    expect(got.ContentType).toBe('text/plain');
    expect(got.Metadata).toEqual({ author: 'me' });
    expect(got.CacheControl).toBe('max-age=60');
    expect(got.ETag).toBe(put.ETag);
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'greeting.txt' }));
    expect(head.ContentLength).toBe(body.length);
    // The same bytes are a FastDFS file, reachable by direct URL on the gateway.
    const res = await fetch(`${s3.endpoint}/${BUCKET}/greeting.txt`, { method: 'HEAD' });
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amz-request-id')).toMatch(/^[0-9A-F]{16}$/);
  });

  it('lists what it stored', async () => {
    const list = await client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    expect(list.Contents?.map((c) => c.Key)).toContain('greeting.txt');
  });

  it('copies by sharing the file and deletes', async () => {
    await client.send(
      new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy.txt', CopySource: `${BUCKET}/greeting.txt` }),
    );
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'copy.txt' }));
    expect((await bodyOf(got)).toString()).toBe('hello s3 over fastdfs');
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'copy.txt' }));
    await expect(
      client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'copy.txt' })),
    ).rejects.toMatchObject({
      name: 'NoSuchKey',
    });
  });
});
