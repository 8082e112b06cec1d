/**
 * Buckets and listings through @aws-sdk/client-s3 against a real `fdfs start` with two owners:
 * CreateBucket (names, LocationConstraint = a FastDFS group), HeadBucket, DeleteBucket,
 * GetBucketLocation/Versioning, ListBuckets per owner, ListObjectsV2 and v1 paging with
 * delimiters, encoding-type=url, virtual-host-style addressing.
 */
import { Agent } from 'node:http';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetBucketLocationCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fdfs } from './helpers/cli.js';
import { type S3Node, startS3Node } from './helpers/s3.js';

const ALICE = 'ALICEKEY0001:alice-secret-0001';
const BOB = 'BOBKEY000002:bob-secret-000002';
let s3: S3Node;
let alice: S3Client;
let bob: S3Client;

beforeAll(async () => {
  s3 = await startS3Node({ credentials: [ALICE, BOB] });
  alice = s3.client();
  bob = s3.client({ accessKeyId: 'BOBKEY000002', secretAccessKey: 'bob-secret-000002' });
});
afterAll(async () => {
  await s3?.stop();
});

async function failure(p: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('the call succeeded');
}

describe('buckets', () => {
  it('creates, heads, lists per owner and deletes; names and owners are checked', async () => {
    await alice.send(new CreateBucketCommand({ Bucket: 'alice-photos' }));
    await bob.send(new CreateBucketCommand({ Bucket: 'bob-docs' }));
    expect(await failure(alice.send(new CreateBucketCommand({ Bucket: 'alice-photos' })))).toEqual({
      name: 'BucketAlreadyOwnedByYou',
      status: 409,
    });
    expect(await failure(bob.send(new CreateBucketCommand({ Bucket: 'alice-photos' })))).toEqual({
      name: 'BucketAlreadyExists',
      status: 409,
    });
    for (const bad of ['ab', 'Upper', 'a..b', '192.168.1.1', '-dash', 'x'.repeat(64)]) {
      expect((await failure(alice.send(new CreateBucketCommand({ Bucket: bad })))).name).toBe(
        'InvalidBucketName',
      );
    }
    const mine = await alice.send(new ListBucketsCommand({}));
    expect(mine.Buckets?.map((b) => b.Name)).toEqual(['alice-photos']);
    expect((await bob.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toEqual(['bob-docs']);
    await alice.send(new HeadBucketCommand({ Bucket: 'alice-photos' }));
    expect((await failure(bob.send(new HeadBucketCommand({ Bucket: 'alice-photos' })))).status).toBe(403);
    expect((await failure(alice.send(new HeadBucketCommand({ Bucket: 'no-such-bucket' })))).status).toBe(404);
    expect(
      (await failure(bob.send(new PutObjectCommand({ Bucket: 'alice-photos', Key: 'x', Body: 'x' })))).name,
    ).toBe('AccessDenied');

    await alice.send(new PutObjectCommand({ Bucket: 'alice-photos', Key: 'a.jpg', Body: 'jpg' }));
    expect(await failure(alice.send(new DeleteBucketCommand({ Bucket: 'alice-photos' })))).toEqual({
      name: 'BucketNotEmpty',
      status: 409,
    });
    await alice.send(new DeleteObjectCommand({ Bucket: 'alice-photos', Key: 'a.jpg' }));
    await alice.send(new DeleteBucketCommand({ Bucket: 'alice-photos' }));
    expect((await failure(alice.send(new DeleteBucketCommand({ Bucket: 'alice-photos' })))).name).toBe(
      'NoSuchBucket',
    );
  });

  it('pins a bucket to a FastDFS group by LocationConstraint and refuses unknown groups', async () => {
    await alice.send(
      new CreateBucketCommand({
        Bucket: 'pinned',
        CreateBucketConfiguration: { LocationConstraint: 'group1' as never },
      }),
    );
    const loc = await alice.send(new GetBucketLocationCommand({ Bucket: 'pinned' }));
    expect(loc.LocationConstraint).toBe('group1');
    expect(
      (
        await failure(
          alice.send(
            new CreateBucketCommand({
              Bucket: 'nowhere',
              CreateBucketConfiguration: { LocationConstraint: 'group9' as never },
            }),
          ),
        )
      ).name,
    ).toBe('InvalidLocationConstraint');
    const v = await alice.send(new GetBucketVersioningCommand({ Bucket: 'pinned' }));
    expect(v.Status).toBeUndefined();
  });
});

describe('listings', () => {
  const keys = ['a/1.txt', 'a/2.txt', 'a/b/3.txt', 'c.txt', 'd e+f.txt', 'z/9.txt'];
  beforeAll(async () => {
    await alice.send(new CreateBucketCommand({ Bucket: 'listing' }));
    for (const Key of keys) await alice.send(new PutObjectCommand({ Bucket: 'listing', Key, Body: Key }));
  });

  it('ListObjectsV2 pages with continuation tokens and start-after', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await alice.send(
        new ListObjectsV2Command({ Bucket: 'listing', MaxKeys: 2, ContinuationToken: token }),
      );
      seen.push(...(page.Contents?.map((c) => c.Key as string) ?? []));
      expect(page.KeyCount).toBe(page.Contents?.length ?? 0);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      pages++;
    } while (token);
    expect(seen).toEqual(keys);
    expect(pages).toBe(3);
    const after = await alice.send(new ListObjectsV2Command({ Bucket: 'listing', StartAfter: 'c.txt' }));
    expect(after.Contents?.map((c) => c.Key)).toEqual(['d e+f.txt', 'z/9.txt']);
    expect(
      (await failure(alice.send(new ListObjectsV2Command({ Bucket: 'listing', ContinuationToken: '!!' }))))
        .name,
    ).toBe('InvalidArgument');
  });

  it('groups by delimiter into CommonPrefixes, with owner on request', async () => {
    const top = await alice.send(
      new ListObjectsV2Command({ Bucket: 'listing', Delimiter: '/', FetchOwner: true }),
    );
    expect(top.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/', 'z/']);
    expect(top.Contents?.map((c) => c.Key)).toEqual(['c.txt', 'd e+f.txt']);
    expect(top.Contents?.[0]?.Owner?.DisplayName).toBe('ALICEKEY0001');
    const inA = await alice.send(
      new ListObjectsV2Command({ Bucket: 'listing', Delimiter: '/', Prefix: 'a/' }),
    );
    expect(inA.Contents?.map((c) => c.Key)).toEqual(['a/1.txt', 'a/2.txt']);
    expect(inA.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/b/']);
  });

  it('ListObjects v1 pages a delimited listing by NextMarker', async () => {
    const seen: string[] = [];
    let marker: string | undefined;
    do {
      const page = await alice.send(
        new ListObjectsCommand({ Bucket: 'listing', Delimiter: '/', MaxKeys: 1, Marker: marker }),
      );
      seen.push(
        ...(page.Contents?.map((c) => c.Key as string) ?? []),
        ...(page.CommonPrefixes?.map((p) => p.Prefix as string) ?? []),
      );
      marker = page.IsTruncated ? page.NextMarker : undefined;
      if (page.IsTruncated) expect(marker).toBeDefined();
    } while (marker);
    expect(seen).toEqual(['a/', 'c.txt', 'd e+f.txt', 'z/']);
  });

  it('encoding-type=url encodes keys and prefixes (botocore decodes only then)', async () => {
    const raw = await alice.send(
      new ListObjectsV2Command({ Bucket: 'listing', EncodingType: 'url', Prefix: 'd' }),
    );
    // The SDK hands the encoded form through: what matters is what went over the wire.
    expect(raw.Contents?.map((c) => c.Key)).toEqual(['d%20e%2Bf.txt']);
  });

  it('ListObjectVersions shows each object as version "null"', async () => {
    const v = await alice.send(new ListObjectVersionsCommand({ Bucket: 'listing', Prefix: 'a/' }));
    expect(v.Versions?.map((x) => [x.Key, x.VersionId, x.IsLatest])).toEqual([
      ['a/1.txt', 'null', true],
      ['a/2.txt', 'null', true],
      ['a/b/3.txt', 'null', true],
    ]);
  });
});

describe('public buckets', () => {
  it('anonymous reads only after fdfs s3 public, never anonymous writes', async () => {
    await alice.send(new CreateBucketCommand({ Bucket: 'open-bucket' }));
    await alice.send(new PutObjectCommand({ Bucket: 'open-bucket', Key: 'pub.txt', Body: 'for everyone' }));
    const url = `${s3.endpoint}/open-bucket/pub.txt`;
    expect((await fetch(url)).status).toBe(403);
    const on = await fdfs(['s3', 'public', 'open-bucket', '--base-path', s3.node.base]);
    expect([on.code, on.out.trim()]).toEqual([
      0,
      'bucket open-bucket is now public (anonymous reads allowed)',
    ]);
    const got = await fetch(url);
    expect([got.status, await got.text()]).toEqual([200, 'for everyone']);
    const listed = await fetch(`${s3.endpoint}/open-bucket?list-type=2`);
    expect(await listed.text()).toContain('<Key>pub.txt</Key>');
    const write = await fetch(`${s3.endpoint}/open-bucket/new.txt`, { method: 'PUT', body: 'x' });
    expect(write.status).toBe(403);
    expect((await fdfs(['s3', 'public', 'open-bucket', '--off', '--base-path', s3.node.base])).code).toBe(0);
    expect((await fetch(url)).status).toBe(403);
    expect((await fdfs(['s3', 'public', 'no-bucket', '--base-path', s3.node.base])).code).toBe(2);
  });

  it('anonymous requests cannot tell a missing bucket from a private one: AccessDenied for both', async () => {
    await alice.send(new CreateBucketCommand({ Bucket: 'hidden-bucket' }));
    await alice.send(new PutObjectCommand({ Bucket: 'hidden-bucket', Key: 'k', Body: 'private' }));
    const answers: string[] = [];
    for (const bucket of ['hidden-bucket', 'never-made-bucket']) {
      for (const [method, path] of [
        ['GET', `/${bucket}`],
        ['HEAD', `/${bucket}`],
        ['GET', `/${bucket}/k`],
        ['HEAD', `/${bucket}/k`],
        ['GET', `/${bucket}?uploads`],
        ['PUT', `/${bucket}/k`],
        ['DELETE', `/${bucket}/k`],
        ['DELETE', `/${bucket}`],
      ] as const) {
        const r = await fetch(`${s3.endpoint}${path}`, { method, ...(method === 'PUT' && { body: 'x' }) });
        const code = /<Code>([^<]*)<\/Code>/.exec(await r.text())?.[1] ?? '(no body)';
        answers.push(`${method} ${path.replace(bucket, 'B')} ${r.status} ${method === 'HEAD' ? '' : code}`);
      }
    }
    // Both buckets, the same eight answers.
    expect(answers.slice(8)).toEqual(answers.slice(0, 8));
    expect(answers.every((a) => / 403 (AccessDenied)?$/.test(a))).toBe(true);
    // A signed request still learns that a bucket does not exist.
    const err = await alice
      .send(new HeadBucketCommand({ Bucket: 'never-made-bucket' }))
      .catch((e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode);
    expect(err).toBe(404);
  });
});

describe('virtual-host-style addressing', () => {
  it('the SDK without forcePathStyle reaches <bucket>.localhost', async () => {
    const [accessKeyId, secretAccessKey] = ALICE.split(':') as [string, string];
    // Every name resolves to the node, so the SDK's own virtual-host requests arrive as it sends them.
    const lookup = (_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) => {
      if (opts.all) cb(null, [{ address: s3.node.s3.host, family: 4 }]);
      else cb(null, s3.node.s3.host, 4);
    };
    const hosts: string[] = [];
    const client = new S3Client({
      endpoint: `http://localhost:${s3.node.s3.port}`,
      region: 'us-east-1',
      credentials: { accessKeyId, secretAccessKey },
      requestHandler: { httpAgent: new Agent({ lookup } as never) },
    });
    client.middlewareStack.add(
      (next) => async (args) => {
        hosts.push((args.request as { hostname: string }).hostname);
        return next(args);
      },
      { step: 'finalizeRequest' },
    );
    try {
      await client.send(new PutObjectCommand({ Bucket: 'listing', Key: 'vhost.txt', Body: 'virtual' }));
      const got = await client.send(new GetObjectCommand({ Bucket: 'listing', Key: 'vhost.txt' }));
      expect(await got.Body?.transformToString()).toBe('virtual');
      expect(hosts).toEqual(['listing.localhost', 'listing.localhost']);
    } finally {
      client.destroy();
    }
  });
});
