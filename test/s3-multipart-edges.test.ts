/**
 * Multipart edges that need the namespace at hand: UploadPartCopy racing a DeleteObject of its
 * source, and ListMultipartUploads paged by key and upload-id markers. In process: a real tracker
 * and storage, the lmdb namespace, startS3 local to the storage, @aws-sdk/client-s3 as the client.
 */
import { join } from 'node:path';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
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

describe('ListMultipartUploads', () => {
  it('pages 1,001 uploads by 1,000 by default, then by the markers it hands out', async () => {
    await client.send(new CreateBucketCommand({ Bucket: 'many' }));
    const owner = ACCESS;
    const ids: string[] = [];
    for (let i = 0; i < 1001; i++) {
      const uploadId = `id-${String(i).padStart(4, '0')}`;
      // Through the namespace: a thousand CreateMultipartUpload round trips would only slow the test.
      await ns.createUpload({
        uploadId,
        bucket: 'many',
        key: `k${i % 7}`,
        owner,
        initiatedAt: 1,
        contentType: 'application/octet-stream',
        headers: {},
        meta: {},
      });
      ids.push(uploadId);
    }
    const first = await client.send(new ListMultipartUploadsCommand({ Bucket: 'many' }));
    expect([first.Uploads?.length, first.IsTruncated, first.MaxUploads]).toEqual([1000, true, 1000]);
    const last = first.Uploads?.at(-1);
    expect([first.NextKeyMarker, first.NextUploadIdMarker]).toEqual([last?.Key, last?.UploadId]);
    const rest = await client.send(
      new ListMultipartUploadsCommand({
        Bucket: 'many',
        KeyMarker: first.NextKeyMarker,
        UploadIdMarker: first.NextUploadIdMarker,
      }),
    );
    expect([rest.Uploads?.length, rest.IsTruncated, rest.NextKeyMarker]).toEqual([1, false, undefined]);
    const listed = [...(first.Uploads ?? []), ...(rest.Uploads ?? [])].map((u) => u.UploadId);
    expect([...listed].sort()).toEqual(ids);
  });

  it('pages by max-uploads with a prefix and a delimiter, common prefixes once each', async () => {
    await client.send(new CreateBucketCommand({ Bucket: 'paged' }));
    const keys = ['a.bin', 'dir/one', 'dir/sub/two', 'dir/three', 'logs/x', 'z/', 'z.bin', 'dir/one'];
    const made: string[] = [];
    for (const Key of keys) {
      const out = await client.send(new CreateMultipartUploadCommand({ Bucket: 'paged', Key }));
      made.push(out.UploadId ?? '');
    }
    const walk = async (extra: { Prefix?: string; Delimiter?: string }, MaxUploads: number) => {
      const uploads: string[] = [];
      const prefixes: string[] = [];
      let KeyMarker: string | undefined;
      let UploadIdMarker: string | undefined;
      for (let pages = 1; ; pages++) {
        const p = await client.send(
          new ListMultipartUploadsCommand({
            Bucket: 'paged',
            MaxUploads,
            KeyMarker,
            UploadIdMarker,
            ...extra,
          }),
        );
        const n = (p.Uploads?.length ?? 0) + (p.CommonPrefixes?.length ?? 0);
        expect(n).toBeLessThanOrEqual(MaxUploads);
        uploads.push(...(p.Uploads ?? []).map((u) => `${u.Key}`));
        prefixes.push(...(p.CommonPrefixes ?? []).map((c) => `${c.Prefix}`));
        if (!p.IsTruncated) return { uploads, prefixes, pages };
        expect(p.NextKeyMarker).toBeDefined();
        KeyMarker = p.NextKeyMarker;
        UploadIdMarker = p.NextUploadIdMarker;
      }
    };
    const sortedKeys = [...keys].sort();
    expect(await walk({}, 3)).toEqual({ uploads: sortedKeys, prefixes: [], pages: 3 });
    expect(await walk({ Delimiter: '/' }, 2)).toEqual({
      uploads: ['a.bin', 'z.bin'],
      prefixes: ['dir/', 'logs/', 'z/'],
      pages: 3,
    });
    expect(await walk({ Prefix: 'dir/', Delimiter: '/' }, 1)).toEqual({
      uploads: ['dir/one', 'dir/one', 'dir/three'],
      prefixes: ['dir/sub/'],
      pages: 4,
    });
    const all = await client.send(new ListMultipartUploadsCommand({ Bucket: 'paged', Delimiter: '/' }));
    expect([all.Delimiter, all.IsTruncated, all.NextKeyMarker]).toEqual(['/', false, undefined]);
    expect(made).toHaveLength(keys.length);
  });
});
