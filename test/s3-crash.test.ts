/**
 * kill -9 during concurrent PutObjects (issue 9): 16 @aws-sdk/client-s3 writers loop PutObject
 * against a real `fdfs start`, the node is SIGKILLed mid-way and started again on the same data
 * folder. Every PUT answered 200 must read back byte for byte, every listed key must read back as
 * the bytes some PUT sent for it (no key points at a missing file), and no temp file survives in
 * the store, the S3 spool or the gateway's spool. Files a killed PUT left uncommitted (on disk,
 * named by no key) are then removed by `fdfs s3 gc`, which leaves exactly the files keys name.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, expect, it } from 'vitest';
import { openLmdbNamespace } from '../src/namespace/index.js';
import { fdfs } from './helpers/cli.js';
import { tempDir } from './helpers/node-process.js';
import { bodyOf, type S3Node, startS3Node } from './helpers/s3.js';

const WRITERS = 16;
const KILL_AFTER = 80;
const BUCKET = 'crash';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
let base = '';
let s3: S3Node | undefined;

afterAll(async () => {
  await s3?.stop();
  if (base) await rm(base, { recursive: true, force: true });
});

/** Every stored FastDFS file name under the node's store path (data/HH/LL/name). */
async function storedFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const data = join(dir, 'storage', 'data');
  for (const hh of await readdir(data)) {
    if (!/^[0-9A-F]{2}$/.test(hh)) continue;
    for (const ll of await readdir(join(data, hh))) {
      for (const name of await readdir(join(data, hh, ll))) {
        if (!name.endsWith('-m')) out.push(`M00/${hh}/${ll}/${name}`);
      }
    }
  }
  return out;
}

async function listAll(client: S3Client): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, ...(token ? { ContinuationToken: token } : {}) }),
    );
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

it('every answered PUT survives kill -9; no key dangles; no temp file stays', async () => {
  base = await tempDir('fdfs-s3-crash-');
  s3 = await startS3Node({ base });
  const client = s3.client();
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));

  /** md5 of every body sent, by key (answered or not), and the keys answered 200. */
  const sent = new Map<string, string>();
  const acked = new Set<string>();
  let killed = false;
  let answered = 0;
  const node = s3.node;
  const killedAt = new Promise<void>((resolve) => {
    const writer = async (w: number) => {
      for (let i = 0; !killed; i++) {
        const key = `w${w}/${i}`;
        // Sizes from 1 KiB to ~600 KiB, so some PUTs are mid-body when the kill lands.
        const body = randomBytes(1024 + ((w * 7919 + i * 104729) % (600 * 1024)));
        sent.set(key, md5(body));
        try {
          await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
        } catch {
          if (killed) return;
          throw new Error(`PUT ${key} failed before the kill`);
        }
        // Answered 200, even if the kill was sent meanwhile: it must survive.
        acked.add(key);
        if (killed) return;
        if (++answered === KILL_AFTER) {
          killed = true;
          node.child.kill('SIGKILL');
          resolve();
        }
      }
    };
    void Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
  });
  await killedAt;
  expect(await node.stop()).toBe(null);
  expect(node.child.signalCode).toBe('SIGKILL');
  s3.client().destroy();

  s3 = await startS3Node({ base });
  const again = s3.client();
  for (const key of acked) {
    const got = await bodyOf(await again.send(new GetObjectCommand({ Bucket: BUCKET, Key: key })));
    expect(md5(got), key).toBe(sent.get(key));
  }
  const listed = await listAll(again);
  for (const key of acked) expect(listed).toContain(key);
  for (const key of listed) {
    const out = await again.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(md5(await bodyOf(out)), key).toBe(sent.get(key));
  }
  // The files keys name, read from the namespace itself (lmdb lets a second process open it).
  const ns = await openLmdbNamespace(join(base, 's3-namespace'));
  const named = new Set<string>();
  try {
    const page = await ns.listObjects(BUCKET, { maxKeys: 100_000 });
    for (const o of page.objects)
      for (const p of o.parts) named.add(p.fileId.slice(p.fileId.indexOf('/') + 1));
  } finally {
    await ns.close();
  }
  expect(await s3.tempFiles()).toEqual([]);
  expect(await readdir(join(base, 'storage', 'data', '.tmp'))).toEqual([]);
  const files = await storedFiles(base);
  const orphans = files.filter((f) => !named.has(f));
  // fdfs s3 gc finds each one through its upload intent and the binlog, and deletes only those.
  const tracker = `${s3.node.tracker.host}:${s3.node.tracker.port}`;
  const gc = await fdfs(['s3', 'gc', '--base-path', base, '--tracker', tracker, '--grace', '0']);
  expect(gc.code, gc.stderr).toBe(0);
  expect(gc.out, [...orphans, ...files].join('\n')).toContain(
    `s3 gc: ${orphans.length} orphan file(s) deleted`,
  );
  expect((await storedFiles(base)).sort()).toEqual([...named].sort());
  for (const key of acked) {
    const got = await bodyOf(await again.send(new GetObjectCommand({ Bucket: BUCKET, Key: key })));
    expect(md5(got), key).toBe(sent.get(key));
  }
  process.stdout.write(
    `s3-crash: ${acked.size} answered, ${listed.length} keys after restart, ${files.length} files, ${orphans.length} orphan(s) removed by fdfs s3 gc\n`,
  );
}, 120_000);
