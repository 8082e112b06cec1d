/**
 * The small-file cache, as the README states it: a cached file is answered from memory and
 * checked on disk again only after `http.cache.revalidate`; appender files, which change in
 * place, are never cached and go out with `Cache-Control: no-cache`. The gateway's clock is the
 * test's, so "after revalidate" needs no waiting.
 */
import { unlink } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayHandle, startGateway } from '../src/gateway/index.js';
import { type InProcessCluster, startCluster } from './helpers/gateway-cluster.js';

const REVALIDATE_MS = 5000;

let cl: InProcessCluster;
let gw: GatewayHandle;
let origin: string;
let clock = 1_800_000_000_000;

beforeAll(async () => {
  cl = await startCluster();
  gw = await startGateway(
    cl.httpConfig({ 'http.cache.revalidate': `${REVALIDATE_MS}ms`, 'http.cache_max_age': '1d' }),
    { local: cl.local, remote: cl.client, now: () => clock },
  );
  origin = `http://127.0.0.1:${gw.address.port}`;
}, 30_000);

afterAll(async () => {
  await gw?.close();
  await cl?.close();
});

async function get(id: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${origin}/${id}`, { headers });
  return {
    status: res.status,
    cache: res.headers.get('cache-control'),
    body: Buffer.from(await res.arrayBuffer()),
  };
}

describe('small-file cache', () => {
  it('answers from memory until http.cache.revalidate has passed, then checks the disk again', async () => {
    const data = Buffer.from('cached small file');
    const id = await cl.client.upload(data, { ext: 'txt' });
    const first = await get(id);
    expect(first.status).toBe(200);
    expect(first.cache).toBe('public, max-age=86400, immutable');
    // Gone from the disk behind the gateway's back (not through it, which would drop the entry).
    await unlink(cl.storage.engine.deps.paths.resolve(id.slice('group1/'.length)));

    clock += REVALIDATE_MS; // not yet past the window: memory answers, plain and ranged
    expect((await get(id)).body.equals(data)).toBe(true);
    expect((await get(id, { Range: 'bytes=0-5' })).body.toString()).toBe('cached');

    clock += 1; // past it: one look at the disk, which no longer has the file
    expect((await get(id)).status).toBe(404);
  });

  it('drops a file deleted through the native port at once, without waiting for revalidation', async () => {
    const data = Buffer.from('deleted by a native client');
    const id = await cl.client.upload(data, { ext: 'txt' });
    expect((await get(id)).body.equals(data)).toBe(true);
    // Same instant, so only the storage telling the gateway can make the next GET miss.
    await cl.client.delete(id);
    expect((await get(id)).status).toBe(404);
    expect((await get(id, { Range: 'bytes=0-6' })).status).toBe(404);
  });

  it('re-checks on the full path (a ranged GET) as well', async () => {
    const data = Buffer.from('another cached file');
    const id = await cl.client.upload(data, { ext: 'txt' });
    expect((await get(id)).status).toBe(200);
    await unlink(cl.storage.engine.deps.paths.resolve(id.slice('group1/'.length)));
    expect((await get(id, { Range: 'bytes=0-6' })).body.toString()).toBe('another');
    clock += REVALIDATE_MS + 1;
    expect((await get(id, { Range: 'bytes=0-6' })).status).toBe(404);
  });

  it('never caches an appender file and sends it with no-cache', async () => {
    const id = await cl.client.upload(Buffer.from('first part;'), { ext: 'log', appender: true });
    const before = await get(id);
    expect(before.status).toBe(200);
    expect(before.cache).toBe('no-cache');
    expect(before.body.toString()).toBe('first part;');
    await cl.client.append(id, Buffer.from('second part'));
    // Same instant: a cached copy would still be fresh, yet the appended bytes show.
    const after = await get(id);
    expect(after.cache).toBe('no-cache');
    expect(after.body.toString()).toBe('first part;second part');
  });
});
