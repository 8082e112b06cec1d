/**
 * `fdfs s3 gc` against a real `fdfs start`: a file the namespace released while no endpoint was
 * there to drain it (here: the key deleted directly in the namespace, as a crash between the
 * commit and the drain leaves it) is deleted from FastDFS through the tracker; the file a key
 * still names stays readable; the queue ends empty.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, expect, it } from 'vitest';
import { openLmdbNamespace } from '../src/namespace/index.js';
import { fdfs } from './helpers/cli.js';
import { tempDir } from './helpers/node-process.js';
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
  expect(run.out).toBe('s3 gc: 1 released file(s) deleted, 0 still queued\n');
  expect((await direct(released)).status).toBe(404);
  const res = await direct(kept);
  expect(res.status).toBe(200);
  expect(await res.text()).toBe('still named');

  const after = await openLmdbNamespace(join(base, 's3-namespace'));
  expect(await after.takeGarbage(10)).toEqual([]);
  await after.close();
}, 60_000);
