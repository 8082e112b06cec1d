/**
 * The image-variant section of `npm run bench`, on the `fdfs start` node of the HTTP section
 * (started with http.image.presets=200x200): a cached variant GET next to a plain GET of a file of
 * the same size, both driven the same way in turns (wrk when installed, else node:http), with
 * their ratio (aim ≥ 0.9); then how many 12 MP JPEG masters per second get their first
 * 200×200 WebP (read, decode with shrink-on-load, resize, encode, record, store as a slave).
 *
 * bench.ts calls `imageSection(node, seconds)`; `node dist/test/bench/image-bench.js` runs it alone.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { type RunningNode, startNode } from '../helpers/node-process.js';
import { removeFolder } from '../helpers/removal.js';
import { type Load, median, nodeLoad, which, wrk } from './http-bench.js';
import { timed } from './native-bench.js';

export const IMAGE_BENCH_ARGS = ['--set', 'http.image.presets=200x200'];
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
const W = 4000;
const H = 3000;

/** A 12 MP photo-like JPEG: smooth gradients and some texture (not noise, which no camera makes). */
async function twelveMegapixels(): Promise<Buffer> {
  const raw = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      const t = ((x * 7) ^ (y * 13)) & 31;
      raw[i] = ((x * 255) / W + t) & 255;
      raw[i + 1] = ((y * 255) / H + t) & 255;
      raw[i + 2] = (128 + 100 * Math.sin(x / 90) * Math.cos(y / 70)) & 255;
    }
  }
  return sharp(raw, { raw: { width: W, height: H, channels: 3 } })
    .jpeg({ quality: 85 })
    .toBuffer();
}

async function put(origin: string, name: string, data: Buffer): Promise<string> {
  const res = await fetch(`${origin}/upload/${name}`, { method: 'PUT', body: data });
  if (res.status !== 200)
    throw new Error(`upload for the image bench failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { fileId: string }).fileId;
}

async function getOk(url: string): Promise<Buffer> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return Buffer.from(await res.arrayBuffer());
}

export async function imageSection(node: RunningNode, seconds: number): Promise<string> {
  const origin = `http://${node.http.host}:${node.http.port}`;
  const dir = await mkdtemp(join(tmpdir(), 'fdfs-image-bench-'));
  try {
    const photo = await twelveMegapixels();
    const lines: string[] = [];

    // Cached variant vs plain file of the same size, in turns.
    const master = await put(origin, 'photo.jpg', photo);
    const variantUrl = `${origin}/${master}?w=200&h=200&fmt=webp`;
    const variant = await getOk(variantUrl);
    const plainUrl = `${origin}/${await put(origin, 'same-size.webp', Buffer.alloc(variant.length, 0x61))}`;
    await getOk(plainUrl); // into the small-file cache, as the variant is
    await getOk(variantUrl);
    const useWrk = await which('wrk');
    const drive = (load: Load) => (useWrk ? wrk(load, 16, seconds, dir) : nodeLoad(load, 16, seconds));
    const plain: number[] = [];
    const cached: number[] = [];
    for (let round = 0; round < 3; round++) {
      const p = await drive({ method: 'GET', url: plainUrl });
      plain.push(p.ops / p.seconds);
      const v = await drive({ method: 'GET', url: variantUrl });
      cached.push(v.ops / v.seconds);
    }
    const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' / ');
    lines.push(
      `Image variants (load from ${useWrk ? 'wrk' : 'a node:http client'}, 16 connections, 3 rounds in turns, req/s):`,
      `  plain GET of a ${kb(variant.length)} file:           ${fmt(plain)}   median ${median(plain).toFixed(0)}`,
      `  cached variant GET (?w=200&h=200&fmt=webp): ${fmt(cached)}   median ${median(cached).toFixed(0)}`,
      `  ratio variant/plain (medians): ${(median(cached) / median(plain)).toFixed(2)}  (aim ≥ 0.9)`,
    );

    // First renders: each master is new, so every request renders and stores one slave.
    const count = Math.max(16, Math.round(8 * seconds));
    const masters: string[] = [];
    for (let i = 0; i < count; i++) masters.push(await put(origin, 'photo.jpg', photo));
    const concurrency = 2; // http.image.max_renders' default
    const r = await timed(concurrency, Number.POSITIVE_INFINITY, count, async (i) => {
      const body = await getOk(`${origin}/${masters[i]}?w=200&h=200&fmt=webp`);
      if (body.length === 0) throw new Error('empty variant');
    });
    lines.push(
      `First render of a 12 MP JPEG (${W}×${H}, ${(photo.length / 2 ** 20).toFixed(1)} MB) → 200×200 WebP, ${concurrency} at a time: ` +
        `${r.ops} renders in ${r.seconds.toFixed(2)} s = ${(r.ops / r.seconds).toFixed(1)} renders/s ` +
        `(${((r.seconds * 1000 * concurrency) / r.ops).toFixed(0)} ms each)`,
    );
    for (const m of [master, ...masters]) await fetch(`${origin}/${m}`, { method: 'DELETE' });
    return lines.join('\n');
  } finally {
    await removeFolder(dir);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const seconds = Number(process.env.BENCH_SECONDS ?? 2);
  const node = await startNode({ args: IMAGE_BENCH_ARGS });
  try {
    process.stdout.write(`${await imageSection(node, seconds)}\n`);
  } finally {
    await node.stop();
  }
}
