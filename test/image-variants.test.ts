/**
 * Image variants beside a storage (the gateway of `fdfs start`): real JPEG, PNG and WebP masters
 * made with sharp, variants decoded, the slave file seen through the native client, one render
 * per variant (the /metrics counter), presets and signed URLs, 415 for non-images, the pixel bomb,
 * and deletes (HTTP and native) taking the variants with the master.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFdfsError, Status } from '../src/common/index.js';
import { slaveRemoteFilename } from '../src/fileid/index.js';
import { type GatewayHandle, startGateway } from '../src/gateway/index.js';
import { imageVariants } from '../src/image/index.js';
import { type InProcessCluster, startCluster } from './helpers/gateway-cluster.js';
import { decoded, peakRss, picture, pngBomb, resetPeakRss } from './helpers/images.js';

const SECRET = 'an-image-link-secret-of-32-chars!!';
let cl: InProcessCluster;
let gw: GatewayHandle;
let origin: string;
let jpg: string;
let png: string;
let webp: string;

beforeAll(async () => {
  cl = await startCluster();
  const config = cl.httpConfig({
    'http.image.presets': '200x200, 800x0',
    'http.jwt.secret': SECRET,
  });
  gw = await startGateway(config, { local: cl.local, remote: cl.client, variants: imageVariants });
  origin = `http://127.0.0.1:${gw.address.port}`;
  jpg = await cl.client.upload(await picture(1200, 900, 'jpeg'), { ext: 'jpg' });
  png = await cl.client.upload(await picture(1000, 800, 'png', 4), { ext: 'png' });
  webp = await cl.client.upload(await picture(900, 600, 'webp'), { ext: 'webp' });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await cl?.close();
});

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${origin}/${path}`, { headers });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

async function counter(name: string): Promise<number> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`no ${name} in /metrics`);
  return Number(line.slice(name.length + 1));
}
const renders = () => counter('fdfs_image_renders_total{result="ok"}');

/** The slave id a variant is stored under, computed here from the FastDFS slave rule. */
function slaveOf(master: string, prefix: string, ext: string): string {
  const [group, ...rest] = master.split('/');
  return `${group}/${slaveRemoteFilename(rest.join('/'), prefix, ext)}`;
}

async function missing(fileId: string): Promise<boolean> {
  try {
    await cl.client.fileInfo(fileId, { fromServer: true });
    return false;
  } catch (err) {
    if (isFdfsError(err, Status.ENOENT)) return true;
    throw err;
  }
}

describe('image variants beside a storage', () => {
  it('renders a preset once, stores it as a slave file, and serves the stored one afterwards', async () => {
    const before = await renders();
    const first = await get(`${jpg}?w=200&h=200&fmt=webp`);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('image/webp');
    expect(await decoded(first.body)).toMatchObject({ format: 'webp', width: 200, height: 200 });
    expect(await renders()).toBe(before + 1);

    // The native client sees it as a slave of the master, with exactly these bytes.
    const slave = slaveOf(jpg, '_200x200', 'webp');
    expect((await cl.client.fileInfo(slave, { fromServer: true })).size).toBe(first.body.length);
    expect(await cl.client.downloadBuffer(slave)).toEqual(first.body);
    expect(await cl.client.getMetadata(jpg)).toMatchObject({
      'fdfs.slave_200x200.webp': 'w=200&h=200&fit=cover&fmt=webp',
    });

    const served = await counter('fdfs_image_variants_served_total');
    const again = await get(`${jpg}?w=200&h=200&fmt=webp`);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(await renders()).toBe(before + 1);
    expect(await counter('fdfs_image_variants_served_total')).toBe(served + 1);
    // Past the synchronous cache path too (a query it does not take): the stored slave, no render.
    const named = await get(`${jpg}?w=200&h=200&fmt=webp&filename=thumb.webp`);
    expect(named.body).toEqual(first.body);
    expect(named.headers.get('content-disposition')).toContain('thumb.webp');
    expect(await renders()).toBe(before + 1);
    // The slave's own URL is the same file.
    expect((await get(slave)).body).toEqual(first.body);
  });

  it('takes the FastDFS slave-name form for presets', async () => {
    const slave = slaveOf(jpg, '_200x200', 'jpg');
    const before = await renders();
    const res = await get(slave);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(await decoded(res.body)).toMatchObject({ format: 'jpeg', width: 200, height: 200 });
    expect(await renders()).toBe(before + 1);
    expect(await cl.client.downloadBuffer(slave)).toEqual(res.body);
    // The query form of the same variant is that very file.
    expect((await get(`${jpg}?w=200&h=200&fmt=jpeg`)).body).toEqual(res.body);
    expect(await renders()).toBe(before + 1);
    // A size that is not a preset is only a missing file.
    expect((await get(slaveOf(jpg, '_300x300', 'jpg'))).status).toBe(404);
    // The master's extension is not in a slave name: a PNG master is found for a .jpg variant.
    const fromPng = await get(slaveOf(png, '_200x200', 'jpg'));
    expect(fromPng.status).toBe(200);
    expect(await decoded(fromPng.body)).toMatchObject({
      format: 'jpeg',
      width: 200,
      height: 200,
      channels: 3,
    });
  });

  it('keeps the aspect ratio for one side, fits inside, and keeps PNG alpha', async () => {
    const wide = await get(`${png}?w=800`);
    expect(wide.status).toBe(200);
    expect(await decoded(wide.body)).toEqual({ format: 'png', width: 800, height: 640, channels: 4 });
    const inside = await get(`${jpg}?w=200&h=200&fit=inside&fmt=png`);
    expect(await decoded(inside.body)).toMatchObject({ format: 'png', width: 200, height: 150 });
    const contain = await get(`${jpg}?w=200&h=200&fit=contain`);
    expect(await decoded(contain.body)).toMatchObject({ format: 'jpeg', width: 200, height: 200 });
    expect(inside.body).not.toEqual(contain.body);
  });

  it('fmt=auto picks AVIF or WebP from Accept and says Vary: Accept', async () => {
    const avif = await get(`${webp}?w=200&h=200&fmt=auto`, { Accept: 'image/avif,image/webp,*/*;q=0.8' });
    expect(avif.status).toBe(200);
    expect(avif.headers.get('content-type')).toBe('image/avif');
    expect(avif.headers.get('vary')).toBe('Accept');
    expect(await decoded(avif.body)).toMatchObject({ format: 'heif', width: 200, height: 200 });
    const w = await get(`${webp}?w=200&h=200&fmt=auto`, { Accept: 'image/webp,*/*' });
    expect(w.headers.get('content-type')).toBe('image/webp');
    expect(w.headers.get('vary')).toBe('Accept');
    const old = await get(`${webp}?w=200&h=200&fmt=auto`, { Accept: 'image/avif;q=0, */*' });
    expect(old.headers.get('content-type')).toBe('image/jpeg');
    expect(await decoded(old.body)).toMatchObject({ format: 'jpeg', width: 200, height: 200 });
    // Answered again from the stored slaves (and the cache), Vary still there.
    const cached = await get(`${webp}?w=200&h=200&fmt=auto`, { Accept: 'image/avif' });
    expect(cached.body).toEqual(avif.body);
    expect(cached.headers.get('vary')).toBe('Accept');
  });

  it('refuses a size that is not a preset (400) unless the URL is signed for that variant', async () => {
    const before = await renders();
    const plain = await get(`${jpg}?w=300&h=300&fmt=webp`);
    expect(plain.status).toBe(400);
    expect(((await plain.body.toString()) as string).includes('not a preset')).toBe(true);
    expect((await get(`${jpg}?w=200&h=200&q=35`)).status).toBe(400); // presets come at the default quality
    expect((await get(`${jpg}?w=20000`)).status).toBe(400);
    expect((await get(`${jpg}?w=200&fit=fill`)).status).toBe(400);
    expect(await renders()).toBe(before);

    const signed = await fetch(`${origin}/api/sign`, {
      method: 'POST',
      body: JSON.stringify({ fileId: jpg, ttl: 60, variant: 'fmt=webp&h=300&w=300' }),
    });
    expect(signed.status).toBe(200);
    const { url } = (await signed.json()) as { url: string };
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await decoded(Buffer.from(await res.arrayBuffer()))).toMatchObject({
      format: 'webp',
      width: 300,
      height: 300,
    });
    expect(await renders()).toBe(before + 1);
    // The signature covers the variant: another size with it is refused.
    const other = await fetch(url.replace('w=300', 'w=301'));
    expect(other.status).toBe(403);
  });

  it('makes no variants of appender files, which change in place', async () => {
    const app = await cl.client.upload(await picture(400, 300, 'jpeg'), { ext: 'jpg', appender: true });
    const res = await get(`${app}?w=200&h=200`);
    expect(res.status).toBe(400);
    expect(res.body.toString()).toContain('appender');
  });

  it('answers 415 for a file that is no image', async () => {
    const txt = await cl.client.upload(Buffer.from('just some text, not pixels'), { ext: 'txt' });
    const res = await get(`${txt}?w=200&h=200`);
    expect(res.status).toBe(415);
    expect(JSON.parse(res.body.toString()).error.code).toBe('FDFS_ERR_EMEDIUMTYPE');
    expect(await missing(slaveOf(txt, '_200x200', 'jpg'))).toBe(true);
  });

  it('refuses a 30,000×30,000 pixel bomb from its header, without memory growth', async () => {
    const bomb = await cl.client.upload(await pngBomb(30_000), { ext: 'png' });
    const refusedBefore = await counter('fdfs_image_renders_total{result="refused"}');
    await resetPeakRss();
    const base = await peakRss();
    const res = await get(`${bomb}?w=200&h=200`);
    const grown = (await peakRss()) - base;
    expect(res.status).toBe(413);
    expect(res.body.toString()).toContain('30000×30000 pixels');
    expect(await counter('fdfs_image_renders_total{result="refused"}')).toBe(refusedBefore + 1);
    // Decoding it would take 900 MB as 8-bit grey; the refusal reads a 110 KB file.
    expect(grown).toBeLessThan(40 * 1024 * 1024);
  });

  it('deletes the variants with their master: HTTP DELETE and the native delete', async () => {
    const a = await cl.client.upload(await picture(640, 480, 'jpeg'), { ext: 'jpg' });
    expect((await get(`${a}?w=200&h=200`)).status).toBe(200);
    expect((await get(`${a}?w=200&h=200&fmt=webp`)).status).toBe(200);
    const del = await fetch(`${origin}/${a}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect(await missing(slaveOf(a, '_200x200', 'jpg'))).toBe(true);
    expect(await missing(slaveOf(a, '_200x200', 'webp'))).toBe(true);
    expect((await get(`${a}?w=200&h=200`)).status).toBe(404);

    const b = await cl.client.upload(await picture(640, 480, 'png'), { ext: 'png' });
    expect((await get(`${b}?w=800`)).status).toBe(200);
    expect(await missing(slaveOf(b, '_800x0', 'png'))).toBe(false);
    // A client replacing the master's metadata keeps its own keys, and the variant's record stays.
    await cl.client.setMetadata(b, { title: 'new' }, 'overwrite');
    const meta = await cl.client.getMetadata(b);
    expect(Object.keys(meta).sort()).toEqual(['fdfs.slave_800x0.png', 'title']);
    expect(meta.title).toBe('new');
    await cl.client.delete(b);
    expect(await missing(slaveOf(b, '_800x0', 'png'))).toBe(true);
    expect(
      (await cl.storedFiles()).filter((f) => f.includes(b.split('/').at(-1)?.slice(0, 20) ?? '?')),
    ).toEqual([]);
  });
});
