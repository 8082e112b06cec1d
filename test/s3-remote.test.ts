/**
 * The S3 endpoint in front of a cluster it reaches only over the network (as under `fdfs gateway`):
 * real tracker and storage in process, startS3 with a RemoteStore and no local disk. Known lengths
 * stream to the storage, unknown ones spool; a refused body leaves no file in the cluster and no
 * spool file; deleted objects' files leave the cluster through the garbage drain.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/common/index.js';
import { type Namespace, openLmdbNamespace } from '../src/namespace/index.js';
import { type S3Handle, startS3 } from '../src/s3/index.js';
import { type InProcessCluster, startCluster } from './helpers/gateway-cluster.js';
import { tempDir } from './helpers/node-process.js';
import { bodyOf, type S3Node, signedRequest } from './helpers/s3.js';

const ACCESS = 'REMOTEKEY001';
const SECRET = 'remote-secret-1';
const MAX = 1024 * 1024;
let cluster: InProcessCluster;
let ns: Namespace;
let s3: S3Handle;
let dir: string;
let client: S3Client;
/** Enough of an S3Node for signedRequest. */
let node: S3Node;

beforeAll(async () => {
  cluster = await startCluster();
  dir = await tempDir('fdfs-s3-remote-');
  ns = await openLmdbNamespace(join(dir, 'ns'), { durable: false });
  s3 = await startS3(
    {
      port: 0,
      region: 'us-east-1',
      credentials: [{ accessKey: ACCESS, secretKey: SECRET }],
      domain: '',
      maxObjectSize: MAX,
      gcInterval: 0,
      gcGrace: 0,
      namespace: '',
    },
    { namespace: ns, remote: cluster.client, spoolDir: join(dir, 'spool'), logger: silentLogger },
    { host: '127.0.0.1', port: 0 },
  );
  const endpoint = `http://127.0.0.1:${s3.address.port}`;
  client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS, secretAccessKey: SECRET },
  });
  node = {
    accessKeyId: ACCESS,
    secretAccessKey: SECRET,
    endpoint,
    node: { s3: { host: '127.0.0.1', port: s3.address.port } },
  } as unknown as S3Node;
  await client.send(new CreateBucketCommand({ Bucket: 'remote' }));
});
afterAll(async () => {
  client?.destroy();
  await s3?.close();
  await ns?.close();
  await cluster?.close();
  await rm(dir, { recursive: true, force: true });
});

const spoolFiles = async () => {
  await mkdir(join(dir, 'spool'), { recursive: true });
  return readdir(join(dir, 'spool'));
};
const codeOf = (xml: string) => /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];

describe('S3 over a remote cluster', () => {
  it('streams a known length and reads ranges back from the storage', async () => {
    const body = Buffer.from('remote bytes '.repeat(1000));
    await client.send(new PutObjectCommand({ Bucket: 'remote', Key: 'r.txt', Body: body }));
    const got = await client.send(
      new GetObjectCommand({ Bucket: 'remote', Key: 'r.txt', Range: 'bytes=13-25' }),
    );
    expect((await bodyOf(got)).toString()).toBe('remote bytes ');
    expect(await cluster.storedFiles()).toHaveLength(1);
  });

  it('spools a body of unknown length (chunked transfer), and removes the spool file', async () => {
    const r = await signedRequest(node, {
      method: 'PUT',
      path: '/remote/chunked.txt',
      headers: { 'transfer-encoding': 'chunked' },
      payloadHash: 'UNSIGNED-PAYLOAD',
      body: 'sent without a length',
    });
    expect([r.status, r.text]).toEqual([200, '']);
    const got = await client.send(new GetObjectCommand({ Bucket: 'remote', Key: 'chunked.txt' }));
    expect((await bodyOf(got)).toString()).toBe('sent without a length');
    expect(await spoolFiles()).toEqual([]);
  });

  it('a body that fails its signed hash leaves no file in the cluster', async () => {
    const before = await cluster.storedFiles();
    const body = Buffer.alloc(200_000, 0x61);
    const tampered = Buffer.from(body);
    tampered[199_999] = 0x62;
    const r = await signedRequest(node, { method: 'PUT', path: '/remote/bad.bin', body, sendBody: tampered });
    expect([r.status, codeOf(r.text)]).toEqual([400, 'XAmzContentSHA256Mismatch']);
    expect(await cluster.storedFiles()).toEqual(before);
  });

  it('a body over s3.max_object_size is EntityTooLarge, known length or not', async () => {
    const before = await cluster.storedFiles();
    const big = Buffer.alloc(MAX + 1, 0x61);
    const known = await signedRequest(node, {
      method: 'PUT',
      path: '/remote/big.bin',
      body: big,
      payloadHash: 'UNSIGNED-PAYLOAD',
    });
    expect([known.status, codeOf(known.text)]).toEqual([400, 'EntityTooLarge']);
    const unknown = await signedRequest(node, {
      method: 'PUT',
      path: '/remote/big.bin',
      headers: { 'transfer-encoding': 'chunked' },
      payloadHash: 'UNSIGNED-PAYLOAD',
      body: big,
    });
    expect([unknown.status, codeOf(unknown.text)]).toEqual([400, 'EntityTooLarge']);
    expect(await spoolFiles()).toEqual([]);
    expect(await cluster.storedFiles()).toEqual(before);
  });

  it('deleting objects removes their files from the cluster through the garbage drain', async () => {
    for (const Key of ['r.txt', 'chunked.txt'])
      await client.send(new DeleteObjectCommand({ Bucket: 'remote', Key }));
    await s3.garbage.idle();
    expect(await cluster.storedFiles()).toEqual([]);
    expect(s3.garbage.deleted).toBe(2);
  });
});
