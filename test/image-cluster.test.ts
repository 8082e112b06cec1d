/**
 * Image variants in a two-storage group: rendered through a gateway with no disk of its own (the
 * shape of `fdfs gateway` in front of a cluster), the slave replicates to the other storage and
 * leaves both with its master. Then the render limits: one render per variant however many ask
 * at once, a full queue answered 503, a render past its deadline 504.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slaveRemoteFilename } from '../src/fileid/index.js';
import { type GatewayHandle, startGateway } from '../src/gateway/index.js';
import { imageVariants } from '../src/image/index.js';
import type { StorageNode } from '../src/storage/index.js';
import { type InProcessCluster, startCluster } from './helpers/gateway-cluster.js';
import { decoded, picture } from './helpers/images.js';
import { eventually } from './helpers/node-process.js';

const SECRET = 'an-image-link-secret-of-32-chars!!';
let cl: InProcessCluster;
let second: StorageNode;
const gateways: GatewayHandle[] = [];

beforeAll(async () => {
  cl = await startCluster();
  second = await cl.addStorage();
  await eventually(async () => {
    const storages = await cl.client.listStorages('group1');
    expect(storages.map((s) => s.status)).toEqual([7, 7]); // ACTIVE
  }, 30_000);
}, 60_000);

afterAll(async () => {
  for (const g of gateways) await g.close();
  await cl?.close();
});

async function gateway(over: Record<string, string>, local = false): Promise<string> {
  const config = cl.httpConfig({ 'http.jwt.secret': SECRET, ...over });
  const deps = local ? { local: cl.local, remote: cl.client } : { remote: cl.client };
  const g = await startGateway(config, { ...deps, variants: imageVariants });
  gateways.push(g);
  return `http://127.0.0.1:${g.address.port}`;
}

async function counter(origin: string, name: string): Promise<number> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  return Number(
    text
      .split('\n')
      .find((l) => l.startsWith(`${name} `))
      ?.slice(name.length + 1),
  );
}

const diskOf = (node: StorageNode, remote: string) => readFile(node.engine.deps.paths.resolve(remote));

describe('image variants in a group of two storages', () => {
  it('renders through a gateway without a disk, stores a slave that replicates, deletes it with the master', async () => {
    const origin = await gateway({ 'http.image.presets': '200x200' });
    const master = await cl.client.upload(await picture(800, 600, 'jpeg'), { ext: 'jpg' });
    const res = await fetch(`${origin}/${master}?w=200&h=200`);
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    expect(await decoded(body)).toMatchObject({ format: 'jpeg', width: 200, height: 200 });
    const remote = slaveRemoteFilename(master.slice('group1/'.length), '_200x200', 'jpg');
    expect(await cl.client.downloadBuffer(`group1/${remote}`)).toEqual(body);
    // On both storages' disks: the one that took it and its replica.
    for (const node of [cl.storage, second])
      await eventually(async () => expect(await diskOf(node, remote)).toEqual(body));

    const del = await fetch(`${origin}/${master}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    for (const node of [cl.storage, second]) {
      await eventually(async () =>
        expect(await diskOf(node, remote).catch((e: NodeJS.ErrnoException) => e.code)).toBe('ENOENT'),
      );
    }
  });

  it('renders a variant once however many ask for it at once', async () => {
    const origin = await gateway({ 'http.image.presets': '160x160', 'http.image.max_renders': '1' }, true);
    const master = await cl.client.upload(await picture(1600, 1200, 'jpeg'), { ext: 'jpg' });
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        fetch(`${origin}/${master}?w=160&h=160&fmt=webp`).then(async (r) => ({
          status: r.status,
          body: Buffer.from(await r.arrayBuffer()),
        })),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
    for (const a of answers) expect(a.body).toEqual(answers[0]?.body);
    expect(await counter(origin, 'fdfs_image_renders_total{result="ok"}')).toBe(1);
  });

  it('answers 503 when every render slot is taken and the queue is full', async () => {
    const origin = await gateway(
      {
        'http.image.presets': '100x100 120x120 140x140 180x180',
        'http.image.max_renders': '1',
        'http.image.max_queue': '0',
      },
      true,
    );
    const master = await cl.client.upload(await picture(2000, 1500, 'jpeg'), { ext: 'jpg' });
    const statuses = await Promise.all(
      [100, 120, 140, 180].map((s) =>
        fetch(`${origin}/${master}?w=${s}&h=${s}&fmt=avif`).then((r) => r.status),
      ),
    );
    expect(statuses).toContain(200);
    expect(statuses).toContain(503);
    expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
  });

  it('abandons a render past http.image.render_timeout with 504 and stores nothing', async () => {
    const origin = await gateway({ 'http.image.render_timeout': '100ms' }, true);
    const master = await cl.client.upload(await picture(2000, 1500, 'jpeg'), { ext: 'jpg' });
    const signed = await fetch(`${origin}/api/sign`, {
      method: 'POST',
      body: JSON.stringify({ fileId: master, ttl: 60, variant: 'fmt=avif&q=90' }),
    });
    const { url } = (await signed.json()) as { url: string };
    const res = await fetch(url);
    expect(res.status).toBe(504);
    expect(await counter(origin, 'fdfs_image_renders_total{result="failed"}')).toBe(1);
    const remote = slaveRemoteFilename(master.slice('group1/'.length), '_0x0_q90', 'avif');
    expect(await diskOf(cl.storage, remote).catch((e: NodeJS.ErrnoException) => e.code)).toBe('ENOENT');
  });
});
