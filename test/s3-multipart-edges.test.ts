/**
 * Multipart edges that need the namespace at hand: UploadPartCopy racing a DeleteObject of its
 * source, and ListMultipartUploads paged by key and upload-id markers. In process: a real tracker
 * and storage, the lmdb namespace, startS3 local to the storage, @aws-sdk/client-s3 as the client.
 */
import { join } from 'node:path';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/common/index.js';
import { type Namespace, openLmdbNamespace } from '../src/namespace/index.js';
import { type S3Handle, startS3 } from '../src/s3/index.js';
import { type InProcessCluster, startCluster } from './helpers/gateway-cluster.js';
import { tempDir } from './helpers/node-process.js';

const ACCESS = 'EDGEKEY0001';
const SECRET = 'edge-secret-1';
let cluster: InProcessCluster;
let ns: Namespace;
let s3: S3Handle;
let client: S3Client;
/** Runs once, inside the next putPart that carries a condition, before the real putPart. */
let beforeConditionalPart: (() => Promise<void>) | undefined;

beforeAll(async () => {
  cluster = await startCluster();
  const dir = await tempDir('fdfs-s3-edges-');
  const real = await openLmdbNamespace(join(dir, 'ns'), { durable: false });
  // The real namespace, with a hook to land another request's write between a copy's read and its commit.
  ns = {
    ...real,
    async putPart(p, cond) {
      const hook = cond ? beforeConditionalPart : undefined;
      beforeConditionalPart = undefined;
      await hook?.();
      return real.putPart(p, cond);
    },
  };
  s3 = await startS3(
    {
      port: 0,
      region: 'us-east-1',
      credentials: [{ accessKey: ACCESS, secretKey: SECRET }],
      domain: '',
      maxObjectSize: 64 * 1024 * 1024,
      gcInterval: 0,
      gcGrace: 0,
      namespace: '',
    },
    { namespace: ns, local: cluster.local, spoolDir: join(dir, 'spool'), logger: silentLogger },
    { host: '127.0.0.1', port: 0 },
  );
  client = new S3Client({
    endpoint: `http://127.0.0.1:${s3.address.port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS, secretAccessKey: SECRET },
  });
  await client.send(new CreateBucketCommand({ Bucket: 'edges' }));
});

afterAll(async () => {
  client?.destroy();
  await s3?.close();
  await ns?.close();
  await cluster?.close();
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof S3ServiceException) return err.name;
    throw err;
  }
  return 'no error';
}

describe('UploadPartCopy of a whole single-file source (the part shares its file)', () => {
  it('is NoSuchKey, and stores no part, when the source is deleted before the part commits', async () => {
    await client.send(new PutObjectCommand({ Bucket: 'edges', Key: 'src', Body: 'shared bytes' }));
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: 'edges', Key: 'dst' }));
    const fileId = (await ns.getObject('edges', 'src'))?.parts[0]?.fileId ?? '';
    expect(fileId).not.toBe('');
    beforeConditionalPart = async () => {
      await ns.deleteObject('edges', 'src');
    };
    const copy = client.send(
      new UploadPartCopyCommand({
        Bucket: 'edges',
        Key: 'dst',
        UploadId,
        PartNumber: 1,
        CopySource: 'edges/src',
      }),
    );
    expect(await codeOf(copy)).toBe('NoSuchKey');
    expect(beforeConditionalPart).toBeUndefined();
    const parts = await client.send(new ListPartsCommand({ Bucket: 'edges', Key: 'dst', UploadId }));
    expect(parts.Parts ?? []).toEqual([]);
    expect(await ns.isReferenced(fileId)).toBe(false);
  });

  it('starts over from the new source when the source is replaced before the part commits', async () => {
    await client.send(new PutObjectCommand({ Bucket: 'edges', Key: 'moving', Body: 'old bytes' }));
    const { UploadId } = await client.send(
      new CreateMultipartUploadCommand({ Bucket: 'edges', Key: 'dst2' }),
    );
    beforeConditionalPart = async () => {
      await client.send(new PutObjectCommand({ Bucket: 'edges', Key: 'moving', Body: 'new bytes' }));
    };
    const out = await client.send(
      new UploadPartCopyCommand({
        Bucket: 'edges',
        Key: 'dst2',
        UploadId,
        PartNumber: 1,
        CopySource: 'edges/moving',
      }),
    );
    const now = await ns.getObject('edges', 'moving');
    expect(out.CopyPartResult?.ETag).toBe(`"${now?.etag}"`);
    const parts = await client.send(new ListPartsCommand({ Bucket: 'edges', Key: 'dst2', UploadId }));
    expect(parts.Parts?.map((p) => [p.PartNumber, p.ETag])).toEqual([[1, `"${now?.etag}"`]]);
    expect(await ns.isReferenced(now?.parts[0]?.fileId ?? '')).toBe(true);
  });
});
