/**
 * A PutObject beside its storage writes and syncs the file's bytes while its upload intent commits,
 * yet the file gets no name (binlog record, link) before the intent is durable, so `fdfs s3 gc` can
 * always find the file of a crashed upload (src/s3/intents.ts `alongside`, LocalUpload.commitAfter).
 * In process: a real tracker and storage, the lmdb namespace with its intent commit held back,
 * startS3 local to the storage, @aws-sdk/client-s3 as the client.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Crc32, FdfsError, Status, silentLogger } from '../src/common/index.js';
import { decodeRemoteFilename } from '../src/fileid/index.js';
import { type Namespace, openLmdbNamespace, type UploadIntent } from '../src/namespace/index.js';
import { type S3Handle, startS3 } from '../src/s3/index.js';
import { type InProcessCluster, startCluster } from './helpers/gateway-cluster.js';
import { eventually, tempDir } from './helpers/node-process.js';
import { TRUNK_TRACKER_KEYS } from './helpers/trunk-store.js';

const ACCESS = 'ORDERKEY0001';
const MAX = 1024 * 1024;
const SECRET = 'order-secret-1';
let cluster: InProcessCluster;
let ns: Namespace;
let s3: S3Handle;
let client: S3Client;
/** Set by a test: recordIntent waits for it (and fails if it rejects) before the real commit. */
let hold: Promise<void> | undefined;
/** Set by a test: putObject commits, then answers as a database whose connection dropped. */
let loseCommitAnswer = false;
const asked: Omit<UploadIntent, 'id'>[] = [];

async function setUp(trackerKeys: Record<string, string> = {}): Promise<void> {
  cluster = await startCluster('group1', trackerKeys);
  const dir = await tempDir('fdfs-s3-order-');
  const real = await openLmdbNamespace(join(dir, 'ns'), { durable: false });
  ns = {
    ...real,
    async recordIntent(i, finished) {
      asked.push(i);
      await hold;
      return real.recordIntent(i, finished);
    },
    async putObject(rec, cond) {
      const outcome = await real.putObject(rec, cond);
      if (!loseCommitAnswer) return outcome;
      throw new FdfsError(Status.EAGAIN, 'The namespace database is unavailable; please retry.', {
        detail: 'ServiceUnavailable',
      });
    },
  };
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
    { namespace: ns, local: cluster.local, spoolDir: join(dir, 'spool'), logger: silentLogger },
    { host: '127.0.0.1', port: 0 },
  );
  client = new S3Client({
    endpoint: `http://127.0.0.1:${s3.address.port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS, secretAccessKey: SECRET },
    maxAttempts: 1,
  });
  await client.send(new CreateBucketCommand({ Bucket: 'order' }));
}

async function tearDown(): Promise<void> {
  client?.destroy();
  await s3?.close();
  await ns?.close();
  await cluster?.close();
}

const storageData = () => join(cluster.base, 'storage', 'data');

/** Names of files created in the storage's binlog. */
async function createdInBinlog(): Promise<string[]> {
  const dir = join(storageData(), 'sync');
  const out: string[] = [];
  for (const f of await readdir(dir)) {
    if (!/^binlog\.\d+$/.test(f)) continue;
    for (const line of (await readFile(join(dir, f), 'utf8')).split('\n')) {
      const [, op, name] = line.split(' ');
      if (op === 'C' && name) out.push(name);
    }
  }
  return out;
}

/** Lets the held intent commit, waits for the PutObject, and returns the names it created. */
async function releaseHeld(release: () => void, putting: Promise<unknown>, createdBefore: string[]) {
  release();
  await putting;
  hold = undefined;
  return (await createdInBinlog()).filter((n) => !createdBefore.includes(n));
}

/** Sizes of the temp files in the storage's .tmp folder. */
async function tempSizes(): Promise<number[]> {
  const tmp = join(storageData(), '.tmp');
  const names = await readdir(tmp).catch(() => [] as string[]);
  return Promise.all(names.map(async (n) => (await stat(join(tmp, n))).size));
}

describe('a PutObject beside its storage', () => {
  beforeAll(() => setUp());
  afterAll(tearDown);

  it('writes the bytes while the intent commits, and names the file only after it', async () => {
    const body = Buffer.alloc(300 * 1024, 0x5a);
    body.write('intent order', 1000);
    const before = await cluster.storedFiles();
    const createdBefore = await createdInBinlog();
    let release!: () => void;
    hold = new Promise((r) => {
      release = r;
    });
    asked.length = 0;
    const putting = client.send(new PutObjectCommand({ Bucket: 'order', Key: 'held.bin', Body: body }));
    // The whole body sits in a temp file while the intent has not committed yet.
    await eventually(async () => {
      expect(asked).toHaveLength(1);
      expect(await tempSizes()).toContain(body.length);
    });
    expect(await cluster.storedFiles()).toEqual(before);
    expect(await createdInBinlog()).toEqual(createdBefore);
    const created = await releaseHeld(release, putting, createdBefore);
    expect(created).toHaveLength(1);
    const named = decodeRemoteFilename(created[0] as string);
    const crc = new Crc32();
    crc.update(body);
    expect(asked[0]).toMatchObject({ group: 'group1', size: body.length, crc32: crc.value });
    expect({ size: named.size, crc32: named.crc32 }).toEqual({ size: body.length, crc32: crc.value });
    const intents = await ns.listIntents(100);
    expect(intents.some((i) => i.size === body.length && i.crc32 === crc.value)).toBe(true);
  });

  it('drops the synced bytes when the intent cannot commit: no file, no temp file', async () => {
    const before = await cluster.storedFiles();
    const createdBefore = await createdInBinlog();
    hold = Promise.reject(new Error('namespace down'));
    hold.catch(() => {});
    const err = await client
      .send(new PutObjectCommand({ Bucket: 'order', Key: 'refused.bin', Body: Buffer.alloc(70_000, 1) }))
      .catch((e: unknown) => e as { name: string; $metadata?: { httpStatusCode?: number } });
    hold = undefined;
    expect(err).toMatchObject({ name: 'InternalError', $metadata: { httpStatusCode: 500 } });
    expect(await cluster.storedFiles()).toEqual(before);
    expect(await createdInBinlog()).toEqual(createdBefore);
    await eventually(async () => expect(await cluster.tempFiles()).toEqual([]));
  });

  it("keeps the file when the commit's answer is lost: the key may name it, so gc decides", async () => {
    const body = Buffer.alloc(5_000, 9);
    loseCommitAnswer = true;
    const err = await client
      .send(new PutObjectCommand({ Bucket: 'order', Key: 'doubtful.bin', Body: body }))
      .catch((e: unknown) => e as { name: string; $metadata?: { httpStatusCode?: number } });
    loseCommitAnswer = false;
    expect(err).toMatchObject({ name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } });
    // The commit did land: the key must still find its bytes.
    const got = await client.send(new GetObjectCommand({ Bucket: 'order', Key: 'doubtful.bin' }));
    expect(
      Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()),
    ).toEqual(body);
  });

  it('refuses a body of unknown length past s3.max_object_size: EntityTooLarge, no file, no temp file', async () => {
    const before = await cluster.storedFiles();
    asked.length = 0;
    const url = await getSignedUrl(client, new PutObjectCommand({ Bucket: 'order', Key: 'big.bin' }), {
      expiresIn: 60,
    });
    const chunk = Buffer.alloc(64 * 1024, 7);
    let sent = 0;
    // No Content-Length: the body goes chunked, so only counting can find it too large.
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= MAX + 4 * chunk.length) return c.close();
        sent += chunk.length;
        c.enqueue(chunk);
      },
    });
    const res = await fetch(url, { method: 'PUT', body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('<Code>EntityTooLarge</Code>');
    expect(asked).toEqual([]);
    expect(await cluster.storedFiles()).toEqual(before);
    await eventually(async () => expect(await cluster.tempFiles()).toEqual([]));
  });
});

describe('a PutObject into a trunk slot beside its storage (use_trunk_file)', () => {
  beforeAll(() => setUp(TRUNK_TRACKER_KEYS));
  afterAll(tearDown);

  const server = () => cluster.storage.trunks.serverRole;
  const putSmall = (key: string, body: Buffer) =>
    client.send(new PutObjectCommand({ Bucket: 'order', Key: key, Body: body }));

  it('names the packed file only once its intent is durable', async () => {
    await eventually(async () => expect(server()).toBeDefined());
    const body = Buffer.alloc(5_000, 0x33);
    const createdBefore = await createdInBinlog();
    let release!: () => void;
    hold = new Promise((r) => {
      release = r;
    });
    asked.length = 0;
    const putting = putSmall('packed.bin', body);
    // The intent is asked for with the body's size and CRC; the file has no name meanwhile.
    await eventually(async () => expect(asked).toHaveLength(1));
    const crc = new Crc32();
    crc.update(body);
    expect(asked[0]).toMatchObject({ group: 'group1', size: body.length, crc32: crc.value });
    expect(await createdInBinlog()).toEqual(createdBefore);
    const created = await releaseHeld(release, putting, createdBefore);
    expect(created).toHaveLength(1);
    expect(decodeRemoteFilename(created[0] as string).type).toBe('trunk');
    const got = await client.send(new GetObjectCommand({ Bucket: 'order', Key: 'packed.bin' }));
    expect(
      Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()),
    ).toEqual(body);
  });

  it('gives the slot back when the intent cannot commit: no file, the same free space', async () => {
    await eventually(async () => expect(server()).toBeDefined());
    await putSmall('warm.bin', Buffer.alloc(100, 1)); // a trunk file exists, its space listed
    const free = server()?.freeBytes;
    const createdBefore = await createdInBinlog();
    hold = Promise.reject(new Error('namespace down'));
    hold.catch(() => {});
    const err = await putSmall('refused.bin', Buffer.alloc(5_000, 2)).catch(
      (e: unknown) => e as { name: string; $metadata?: { httpStatusCode?: number } },
    );
    hold = undefined;
    expect(err).toMatchObject({ name: 'InternalError', $metadata: { httpStatusCode: 500 } });
    expect(await createdInBinlog()).toEqual(createdBefore);
    expect(server()?.freeBytes).toBe(free);
  });
});
