/**
 * S3 GetObject of a large one-file object stored on the node's own disk goes out by sendfile when
 * the native addon is built, streamed otherwise: the AWS SDK gets the object's bytes either way,
 * whole and in ranges, and a multipart object (several files) still streams.
 */
import { randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NATIVE_PATHS } from './helpers/native-paths.js';
import { bodyOf, type S3Node, startS3Node } from './helpers/s3.js';

const MB = 1024 * 1024;

describe.each(NATIVE_PATHS)('$path', ({ env }) => {
  let s3: S3Node;
  let client: S3Client;

  beforeAll(async () => {
    s3 = await startS3Node({ env });
    client = s3.client();
    await client.send(new CreateBucketCommand({ Bucket: 'big' }));
  }, 60_000);

  afterAll(async () => {
    await s3?.stop();
  });

  it('gets a large object whole and in ranges, byte for byte', async () => {
    const data = randomBytes(6 * MB + 17);
    await client.send(new PutObjectCommand({ Bucket: 'big', Key: 'video.mp4', Body: data }));
    const whole = await client.send(new GetObjectCommand({ Bucket: 'big', Key: 'video.mp4' }));
    expect((await bodyOf(whole)).equals(data)).toBe(true);
    const part = await client.send(
      new GetObjectCommand({ Bucket: 'big', Key: 'video.mp4', Range: 'bytes=1048570-4194310' }),
    );
    expect(part.ContentRange).toBe(`bytes 1048570-4194310/${data.length}`);
    expect((await bodyOf(part)).equals(data.subarray(1_048_570, 4_194_311))).toBe(true);
    const tail = await client.send(
      new GetObjectCommand({ Bucket: 'big', Key: 'video.mp4', Range: 'bytes=-100000' }),
    );
    expect((await bodyOf(tail)).equals(data.subarray(data.length - 100_000))).toBe(true);
  }, 60_000);

  it('still streams an object made of several files (multipart upload)', async () => {
    const parts = [randomBytes(5 * MB), randomBytes(MB + 3)];
    const { UploadId } = await client.send(
      new CreateMultipartUploadCommand({ Bucket: 'big', Key: 'parts.bin' }),
    );
    const done = [];
    for (const [i, body] of parts.entries()) {
      const { ETag } = await client.send(
        new UploadPartCommand({ Bucket: 'big', Key: 'parts.bin', UploadId, PartNumber: i + 1, Body: body }),
      );
      done.push({ ETag, PartNumber: i + 1 });
    }
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'big',
        Key: 'parts.bin',
        UploadId,
        MultipartUpload: { Parts: done },
      }),
    );
    const got = await client.send(new GetObjectCommand({ Bucket: 'big', Key: 'parts.bin' }));
    expect((await bodyOf(got)).equals(Buffer.concat(parts))).toBe(true);
  }, 60_000);
});
