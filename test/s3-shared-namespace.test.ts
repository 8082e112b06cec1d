/**
 * Two `fdfs gateway` processes, on 127.0.0.2 and 127.0.0.3, in front of one `fdfs start` and sharing
 * one PostgreSQL namespace (s3.namespace = postgres://…): what one writes the other serves at once;
 * 1,000 PUTs of one key racing through both leave one version and, after the drain, no orphan in
 * FastDFS; a multipart upload outlives its gateway's kill -9; a gateway killed mid-drain (its
 * FastDFS deletes hanging on a frozen cluster) loses no file a key names and leaves the whole queue
 * to the other; and with the database stopped
 * under load every request answers 503 ServiceUnavailable, and all that was answered before is
 * intact once it is back.
 */
import { createHash } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type RunningNode, startNode, tempDir } from './helpers/node-process.js';
import { postgresSkipReason, startPostgres, type TestPostgres } from './helpers/postgres.js';
import { bodyOf } from './helpers/s3.js';
import { type S3Gateway, startS3Gateway } from './helpers/s3-gateway.js';

const skip = postgresSkipReason();
const CREDENTIAL = 'SHAREDKEY01:shared-secret-0001';
const BUCKET = 'shared';
const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

let db: TestPostgres | undefined;
let node: RunningNode | undefined;
let dir = '';
const gateways = new Map<string, S3Gateway>();
let a: S3Client;
let b: S3Client;

async function gateway(host: string): Promise<S3Client> {
  await gateways.get(host)?.stop('SIGKILL');
  const gw = await startS3Gateway({
    base: join(dir, host),
    tracker: (node as RunningNode).tracker,
    host,
    credential: CREDENTIAL,
    lines: [`s3.namespace = ${(db as TestPostgres).url()}`],
  });
  gateways.set(host, gw);
  return gw.client();
}

async function sql<R extends pg.QueryResultRow>(text: string): Promise<R[]> {
  const c = new pg.Client({ connectionString: (db as TestPostgres).url() });
  await c.connect();
  try {
    return (await c.query<R>(text)).rows;
  } finally {
    await c.end();
  }
}

const queued = async () =>
  Number((await sql<{ n: string }>('SELECT count(*) AS n FROM fdfs_s3.garbage'))[0]?.n);

/** Every file the namespace names, as `M00/…` (all in group1). */
async function namedFiles(): Promise<string[]> {
  const rows = await sql<{ file_id: string }>('SELECT file_id FROM fdfs_s3.refs WHERE n > 0');
  return rows.map((r) => r.file_id.slice(r.file_id.indexOf('/') + 1)).sort();
}

/** Every file stored in the storage (metadata sidecars aside). */
async function storedFiles(): Promise<string[]> {
  const out: string[] = [];
  const data = join((node as RunningNode).base, 'storage', 'data');
  for (const hh of await readdir(data)) {
    if (!/^[0-9A-F]{2}$/.test(hh)) continue;
    for (const ll of await readdir(join(data, hh))) {
      for (const name of await readdir(join(data, hh, ll)))
        if (!name.endsWith('-m')) out.push(`M00/${hh}/${ll}/${name}`);
    }
  }
  return out.sort();
}

async function getText(c: S3Client, key: string): Promise<string> {
  return (await bodyOf(await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: key })))).toString();
}

/** Runs `fn` over `items` with at most `width` at once. */
async function pool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

beforeAll(async () => {
  if (skip) return;
  dir = await tempDir('fdfs-shared-');
  db = await startPostgres();
  node = await startNode();
  a = await gateway('127.0.0.2');
  b = await gateway('127.0.0.3');
  await a.send(new CreateBucketCommand({ Bucket: BUCKET }));
}, 120_000);

afterAll(async () => {
  for (const gw of gateways.values()) await gw.stop('SIGKILL');
  await node?.stop();
  await db?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(skip !== undefined)('two gateways, one PostgreSQL namespace', () => {
  it('serves a PUT through one gateway at once through the other: GET, HEAD, LIST', async () => {
    for (const [writer, reader, key] of [
      [a, b, 'from-a/é x.txt'],
      [b, a, 'from-b/y.txt'],
    ] as const) {
      await writer.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `body of ${key}` }));
      expect(await getText(reader, key)).toBe(`body of ${key}`);
      const head = await reader.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(head.ETag).toBe(`"${md5(`body of ${key}`)}"`);
      const list = await reader.send(new ListObjectsV2Command({ Bucket: BUCKET, Delimiter: '/' }));
      expect(list.CommonPrefixes?.map((p) => p.Prefix)).toContain(`${key.split('/')[0]}/`);
    }
  });

  it('lets one of 1,000 PUTs of one key racing through both gateways win, and leaves no orphan', async () => {
    const before = new Set(await storedFiles());
    const answered = new Map<string, string>();
    const versions = Array.from({ length: 1000 }, (_, i) => i);
    await pool(versions, 16, async (i) => {
      const body = `version ${i} `.repeat(1 + (i % 7));
      const out = await (i % 2 ? a : b).send(
        new PutObjectCommand({ Bucket: BUCKET, Key: 'race', Body: body }),
      );
      answered.set(md5(body), body);
      expect(out.ETag).toBe(`"${md5(body)}"`);
    });
    expect(answered.size).toBe(1000);
    const fromA = await getText(a, 'race');
    expect(await getText(b, 'race')).toBe(fromA);
    expect(answered.get(md5(fromA))).toBe(fromA);
    const listed = await b.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'race' }));
    expect(listed.Contents?.map((o) => [o.Key, o.ETag])).toEqual([['race', `"${md5(fromA)}"`]]);
    // Both drains run after each write; the other 999 versions' files all go.
    await eventually(async () => expect(await queued()).toBe(0), 120_000, 200);
    const added = (await storedFiles()).filter((f) => !before.has(f));
    expect(added).toHaveLength(1);
    expect(await storedFiles()).toEqual(await namedFiles());
  }, 300_000);

  it('completes through one gateway a multipart upload begun on the other, killed with kill -9', async () => {
    const part1 = Buffer.alloc(5 * 1024 * 1024, 'a');
    const part2 = Buffer.from('the tail, sent to the other gateway');
    const { UploadId } = await a.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'multi' }));
    const p1 = await a.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: 'multi', UploadId, PartNumber: 1, Body: part1 }),
    );
    await gateways.get('127.0.0.2')?.stop('SIGKILL');
    const listed = await b.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
    expect(listed.Uploads?.map((u) => [u.Key, u.UploadId])).toEqual([['multi', UploadId]]);
    const p2 = await b.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: 'multi', UploadId, PartNumber: 2, Body: part2 }),
    );
    const parts = await b.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'multi', UploadId }));
    expect(parts.Parts?.map((p) => [p.PartNumber, p.ETag])).toEqual([
      [1, p1.ETag],
      [2, p2.ETag],
    ]);
    await b.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: 'multi',
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.ETag },
            { PartNumber: 2, ETag: p2.ETag },
          ],
        },
      }),
    );
    const got = await bodyOf(await b.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'multi' })));
    expect(md5(got)).toBe(md5(Buffer.concat([part1, part2])));
    a = await gateway('127.0.0.2');
    expect((await a.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'multi' }))).ContentLength).toBe(
      got.length,
    );
  }, 120_000);

  it('loses nothing when a gateway is killed mid-drain: the other finishes it', async () => {
    const keep = Array.from({ length: 20 }, (_, i) => `keep/${i}`);
    const drop = Array.from({ length: 300 }, (_, i) => `drop/${i}`);
    await pool([...keep, ...drop], 16, async (key) => {
      await a.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `kept ${key}` }));
    });
    expect(await queued()).toBe(0);
    const cluster = (node as RunningNode).child;
    // Tracker and storage frozen: the drain the deletes start takes its first batch and hangs in
    // its FastDFS deletes, which resume (reaching the storage or not) only after the kill.
    cluster.kill('SIGSTOP');
    try {
      const out = await a.send(
        new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: drop.map((Key) => ({ Key })) } }),
      );
      expect(out.Errors ?? []).toEqual([]);
      await new Promise((r) => setTimeout(r, 1000));
      await gateways.get('127.0.0.2')?.stop('SIGKILL');
    } finally {
      cluster.kill('SIGCONT');
    }
    try {
      // Nothing was acknowledged: every released file is still queued, durably.
      expect(await queued()).toBe(300);
      // No key names a missing file.
      for (const key of keep) expect(await getText(b, key)).toBe(`kept ${key}`);
      // Any write on the other gateway wakes its drain, which takes the whole queue (a file the
      // killed drain did delete counts as done).
      await b.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'keep/0', Body: 'kept keep/0' }));
      await eventually(async () => expect(await queued()).toBe(0), 120_000, 200);
      expect(await storedFiles()).toEqual(await namedFiles());
      for (const key of keep) expect(await getText(b, key)).toBe(`kept ${key}`);
    } finally {
      a = await gateway('127.0.0.2');
    }
  }, 240_000);

  it('answers 503 ServiceUnavailable while the database is down, and keeps all it answered', async () => {
    const server = db as TestPostgres;
    const acked = new Map<string, string>();
    const failed = new Set<string>();
    const codes = new Map<string, number>();
    let phase: 'up' | 'down' | 'back' = 'up';
    let downAnswers = 0;
    let backAnswers = 0;
    const writer = async (c: S3Client, name: string) => {
      for (let i = 0; phase !== 'back' || backAnswers < 40; i++) {
        const key = `load/${name}/${i}`;
        const body = `${key} `.repeat(50);
        const during = phase;
        try {
          await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
          acked.set(key, body);
          if (during === 'back') backAnswers++;
        } catch (err) {
          const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
          const label = `${e.$metadata?.httpStatusCode} ${e.name}: ${e.message}`;
          codes.set(label, (codes.get(label) ?? 0) + 1);
          failed.add(key);
          if (phase === 'down') downAnswers++;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const raw = [...gateways.values()].map((gw) => gw.client({ raw: true }));
    const writers = Promise.all([0, 1, 2, 3].map((w) => writer(raw[w % 2] as S3Client, `w${w}`)));
    await eventually(async () => expect(acked.size).toBeGreaterThan(40), 60_000, 20);
    await server.pause();
    phase = 'down';
    await eventually(async () => expect(downAnswers).toBeGreaterThan(20), 60_000, 20);
    const read = await b
      .send(new GetObjectCommand({ Bucket: BUCKET, Key: 'keep/1' }))
      .catch((e: unknown) => e);
    expect((read as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(503);
    await server.resume();
    phase = 'back';
    await writers;

    // Every failure was a 503 naming the cause, never a 500 or an address.
    const labels = [...codes.keys()];
    expect(labels.length).toBeGreaterThan(0);
    for (const l of labels)
      expect(l).toMatch(/^503 ServiceUnavailable: The namespace database is unavailable/);
    expect(labels.join('\n')).not.toMatch(/127\.0\.0\.1|:\d{4,5}\b/);
    // Everything answered is there, in full, through both gateways.
    for (const [key, body] of acked) {
      expect(await getText(a, key), key).toBe(body);
      expect(md5(await getText(b, key)), key).toBe(md5(body));
    }
    // A write that failed left nothing half-written: no key, or (its commit in doubt) the whole body.
    for (const key of failed) {
      const got = await getText(a, key).catch((e: { name?: string }) => e.name);
      expect([`${key} `.repeat(50), 'NoSuchKey'], key).toContain(got);
    }
    const listed = await a.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'load/', MaxKeys: 1000 }));
    const keys = new Set(listed.Contents?.map((o) => o.Key));
    for (const key of acked.keys()) expect(keys.has(key), key).toBe(true);
  }, 240_000);
});
