/**
 * `fdfs s3 gc` against a real `fdfs start`: a file the namespace released while no endpoint was
 * there to drain it (here: the key deleted directly in the namespace, as a crash between the
 * commit and the drain leaves it) is deleted from FastDFS through the tracker; the file a key
 * still names stays readable; the queue ends empty. Then an orphan made as a crash between the
 * storage's answer and the commit leaves it: an upload intent recorded, the same bytes stored
 * through the native client, no key: gc deletes it and nothing a key names, nor a native file
 * of other bytes.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, expect, it } from 'vitest';
import { FdfsClient } from '../src/client/index.js';
import { crc32 } from '../src/common/index.js';
import { defaultClientConfig } from '../src/config/index.js';
import { openLmdbNamespace } from '../src/namespace/index.js';
import { fdfs } from './helpers/cli.js';
import { eventually, tempDir } from './helpers/node-process.js';
import { type S3Node, startS3Node } from './helpers/s3.js';

let base = '';
let s3: S3Node | undefined;
afterAll(async () => {
  await s3?.stop();
  if (base) await rm(base, { recursive: true, force: true });
});

async function fileIdOf(key: string): Promise<string> {
  const ns = await openLmdbNamespace(join(base, 's3-namespace'));
  try {
    const rec = await ns.getObject('gc-test', key);
    const id = rec?.parts[0]?.fileId;
    if (!id) throw new Error(`no file for ${key}`);
    return id;
  } finally {
    await ns.close();
  }
}

it('fdfs s3 gc deletes released files and nothing a key names', async () => {
  base = await tempDir('fdfs-s3-gc-');
  s3 = await startS3Node({ base });
  const client = s3.client();
  await client.send(new CreateBucketCommand({ Bucket: 'gc-test' }));
  await client.send(new PutObjectCommand({ Bucket: 'gc-test', Key: 'released', Body: 'gone soon' }));
  await client.send(new PutObjectCommand({ Bucket: 'gc-test', Key: 'kept', Body: 'still named' }));
  const released = await fileIdOf('released');
  const kept = await fileIdOf('kept');
  await s3.stop();

  // Released with no endpoint running, so nothing drains the queue but the command.
  const ns = await openLmdbNamespace(join(base, 's3-namespace'));
  expect(await ns.deleteObject('gc-test', 'released')).toBe(true);
  expect((await ns.takeGarbage(10)).map((g) => g.fileId)).toEqual([released]);
  await ns.close();

  s3 = await startS3Node({ base });
  const { node } = s3;
  const direct = (id: string) => fetch(`http://${node.http.host}:${node.http.port}/${id}`);
  expect((await direct(released)).status).toBe(200);
  const run = await fdfs([
    's3',
    'gc',
    '--base-path',
    base,
    '--tracker',
    `${node.tracker.host}:${node.tracker.port}`,
  ]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.out).toBe(
    's3 gc: 1 released file(s) deleted, 0 still queued\n' +
      's3 gc: 0 orphan file(s) deleted, 0 upload intent(s) of group1 resolved, 0 left for other groups\n',
  );
  // The gateway's small-file cache may answer from memory until it revalidates (about 1 s).
  await eventually(async () => expect((await direct(released)).status).toBe(404));
  const res = await direct(kept);
  expect(res.status).toBe(200);
  expect(await res.text()).toBe('still named');

  const after = await openLmdbNamespace(join(base, 's3-namespace'));
  expect(await after.takeGarbage(10)).toEqual([]);
  await after.close();
}, 60_000);

it('fdfs s3 gc deletes the file of an upload that never committed, and nothing else', async () => {
  if (!s3) throw new Error('the first test starts the node');
  const { node } = s3;
  const client = s3.client();
  await client.send(new PutObjectCommand({ Bucket: 'gc-test', Key: 'committed', Body: 'committed bytes' }));
  const committed = await fileIdOf('committed');
  const native = new FdfsClient(
    defaultClientConfig(new Map([['tracker_server', [`${node.tracker.host}:${node.tracker.port}`]]])).config,
  );
  const orphanBytes = Buffer.from('bytes of an upload whose commit never came');
  let orphan: string;
  let other: string;
  try {
    // The endpoint's gate records this before the storage may name the file; here the test does.
    const ns = await openLmdbNamespace(join(base, 's3-namespace'));
    await ns.recordIntent({
      group: 'group1',
      size: orphanBytes.length,
      crc32: crc32(orphanBytes),
      at: Date.now(),
    });
    await ns.close();
    orphan = await native.upload(orphanBytes, { ext: 'bin' });
    other = await native.upload(Buffer.from('a native upload of other bytes'), { ext: 'bin' });
  } finally {
    await native.close();
  }
  const direct = (id: string) => fetch(`http://${node.http.host}:${node.http.port}/${id}`);
  const tracker = `${node.tracker.host}:${node.tracker.port}`;
  const gc = (grace: string) =>
    fdfs(['s3', 'gc', '--base-path', base, '--tracker', tracker, '--grace', grace]);

  const early = await gc('600');
  expect(early.code).toBe(0);
  expect(early.out).toContain('s3 gc: 0 orphan file(s) deleted');
  expect((await direct(orphan)).status).toBe(200);

  const run = await gc('0');
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.out).toContain('s3 gc: 1 orphan file(s) deleted');
  expect(run.out).toContain(`orphan deleted: ${orphan}\n`);
  await eventually(async () => expect((await direct(orphan)).status).toBe(404));
  for (const id of [committed, other]) expect((await direct(id)).status).toBe(200);
  const ns = await openLmdbNamespace(join(base, 's3-namespace'));
  expect(await ns.listIntents(10)).toEqual([]);
  await ns.close();
}, 60_000);

it('the endpoint beside a storage runs the orphan pass itself every s3.gc_interval', async () => {
  const own = await startS3Node({ args: ['--set', 's3.gc_interval=1', '--set', 's3.gc_grace=0'] });
  try {
    const { node } = own;
    const native = new FdfsClient(
      defaultClientConfig(new Map([['tracker_server', [`${node.tracker.host}:${node.tracker.port}`]]]))
        .config,
    );
    const bytes = Buffer.from('an orphan the periodic pass finds');
    let orphan: string;
    let other: string;
    try {
      const ns = await openLmdbNamespace(join(node.base, 's3-namespace'));
      await ns.recordIntent({ group: 'group1', size: bytes.length, crc32: crc32(bytes), at: Date.now() });
      await ns.close();
      // The storage reports to the tracker just after the ready line: retry until it is writable.
      orphan = await eventually(() => native.upload(bytes, { ext: 'bin' }));
      other = await native.upload(Buffer.from('not an orphan'), { ext: 'bin' });
    } finally {
      await native.close();
    }
    const direct = (id: string) => fetch(`http://${node.http.host}:${node.http.port}/${id}`);
    await eventually(async () => {
      expect((await direct(orphan)).status).toBe(404);
    });
    expect((await direct(other)).status).toBe(200);
  } finally {
    await own.stop();
  }
}, 60_000);
