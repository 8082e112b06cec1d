/**
 * The gateway in front of a cluster it does not run beside (`fdfs gateway`): everything through
 * the client — uploads spooled or streamed, downloads from any replica that has the file.
 */
import { readdir, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { type GatewayHandle, startGateway } from '../src/gateway/index.js';
import type { StorageNode } from '../src/storage/index.js';
import { type InProcessCluster, startCluster } from './helpers/gateway-cluster.js';
import { eventually } from './helpers/node-process.js';

const bytes = (n: number, seed = 1) =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 17 + seed) & 0xff));

interface Stored {
  fileId: string;
  url: string;
  size: number;
  crc32: number;
}

let cl: InProcessCluster;
let gw: GatewayHandle;
let origin: string;

beforeAll(async () => {
  cl = await startCluster();
  gw = await startGateway(cl.httpConfig({ 'http.upload.max_size': '1MB', 'http.group_name': 'group1' }), {
    remote: cl.client,
  });
  origin = `http://127.0.0.1:${gw.address.port}`;
}, 30_000);

afterAll(async () => {
  await gw?.close();
  await cl?.close();
});

/** A PUT /upload/<name> whose body the test writes piece by piece; `answer` settles with the reply. */
function slowPut(name: string, headers: Record<string, string>) {
  const req = request({
    host: '127.0.0.1',
    port: gw.address.port,
    method: 'PUT',
    path: `/upload/${name}`,
    headers,
  });
  const answer = new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
  });
  answer.catch(() => {}); // a test that fails early destroys the request; its awaiter still sees why
  return { req, answer };
}

/** Sizes of the files in `dir` ending in `suffix`. */
async function fileSizes(dir: string, suffix: string): Promise<number[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith(suffix));
  const sizes = await Promise.all(
    names.map((n) =>
      stat(join(dir, n)).then(
        (s) => s.size,
        () => 0,
      ),
    ),
  );
  return sizes;
}

async function buf(res: Response): Promise<Buffer> {
  return Buffer.from(await res.arrayBuffer());
}

describe('gateway without a local storage', () => {
  it('spools multipart parts, then serves bytes, ranges, HEAD and 304 from the storage', async () => {
    const data = bytes(300_000);
    const form = new FormData();
    form.append('meta.kind', 'test');
    form.append('file', new Blob([data]), 'remote.jpg');
    const res = await fetch(`${origin}/upload`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const [s] = ((await res.json()) as { files: Stored[] }).files as [Stored];
    expect(s.size).toBe(data.length);
    expect(s.crc32).toBe(crc32(data));
    expect(await cl.tempFiles()).toEqual([]);
    expect((await cl.client.downloadBuffer(s.fileId)).equals(data)).toBe(true);

    expect((await buf(await fetch(s.url))).equals(data)).toBe(true);
    const part = await fetch(s.url, { headers: { Range: 'bytes=1000-1999' } });
    expect(part.status).toBe(206);
    expect((await buf(part)).equals(data.subarray(1000, 2000))).toBe(true);
    const multi = await fetch(s.url, { headers: { Range: 'bytes=0-0,-1' } });
    expect(multi.status).toBe(206);
    expect(multi.headers.get('content-type')).toMatch(/^multipart\/byteranges/);
    expect((await buf(multi)).length).toBe(Number(multi.headers.get('content-length')));

    const head = await fetch(s.url, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe(String(data.length));
    expect(head.headers.get('x-fdfs-meta-kind')).toBe('test');
    const etag = head.headers.get('etag') as string;
    expect((await fetch(s.url, { headers: { 'If-None-Match': etag } })).status).toBe(304);
    // URLs without a group use http.group_name.
    expect((await fetch(`${origin}/${s.fileId.slice(7)}`, { method: 'HEAD' })).status).toBe(200);
  });

  it('streams a PUT with a length straight through, and spools a chunked one', async () => {
    const data = bytes(400_000, 4);
    const half = data.length / 2;
    const spoolDir = join(cl.base, 'gateway', 'tmp');
    const storageTmp = join(cl.base, 'storage', 'data', '.tmp');

    // Length known: half the body, then a pause. The storage is already writing its temp file
    // while the gateway's spool stays empty.
    const direct = slowPut('a.bin', { 'Content-Length': String(data.length) });
    const chunked = slowPut('b.bin', { 'Transfer-Encoding': 'chunked' });
    onTestFinished(() => {
      direct.req.destroy();
      chunked.req.destroy();
    });
    direct.req.write(data.subarray(0, half));
    await eventually(async () => {
      const sizes = await fileSizes(storageTmp, '.tmp');
      expect(sizes.some((n) => n > 0)).toBe(true);
    }, 5000);
    expect(await fileSizes(spoolDir, '.part')).toEqual([]);
    direct.req.end(data.subarray(half));
    const directAnswer = await direct.answer;

    // Chunked (no length): the body waits in the spool; nothing reaches the storage before it ends.
    chunked.req.write(data.subarray(0, half));
    await eventually(async () => {
      const sizes = await fileSizes(spoolDir, '.part');
      expect(sizes.some((n) => n > 0)).toBe(true);
    }, 5000);
    expect(await fileSizes(storageTmp, '.tmp')).toEqual([]);
    chunked.req.end(data.subarray(half));

    for (const answer of [directAnswer, await chunked.answer]) {
      expect(answer.status).toBe(200);
      const s = JSON.parse(answer.body.toString('utf8')) as Stored;
      expect((await cl.client.downloadBuffer(s.fileId)).equals(data)).toBe(true);
    }
    expect(await cl.tempFiles()).toEqual([]);
  }, 20_000);

  it('refuses a part over the limit with 413, storing nothing and leaving no spool file', async () => {
    const before = await cl.storedFiles();
    const form = new FormData();
    form.append('file', new Blob([bytes(100)]), 'small.bin');
    form.append('file', new Blob([bytes(1024 * 1024 + 1)]), 'big.bin');
    expect((await fetch(`${origin}/upload`, { method: 'POST', body: form })).status).toBe(413);
    expect(await cl.storedFiles()).toEqual(before);
    expect(await cl.tempFiles()).toEqual([]);
  });

  it('answers 404 for a missing file, an unknown group and after a delete', async () => {
    const id = await cl.client.upload(bytes(10), { ext: 'txt' });
    expect((await fetch(`${origin}/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${origin}/${id}`)).status).toBe(404);
    expect((await fetch(`${origin}/${id}`, { method: 'HEAD' })).status).toBe(404);
    expect((await fetch(`${origin}/nosuchgroup/${id.slice(7)}`)).status).toBe(404);
  });
});

describe('gateway beside a storage that does not have the file yet', () => {
  let second: StorageNode;
  let beside: GatewayHandle;

  beforeAll(async () => {
    second = await cl.addStorage();
    await eventually(async () => {
      const storages = await cl.client.listStorages('group1');
      // Joined is enough: whether it is ACTIVE yet or still syncing, it lacks the file below.
      expect(storages).toHaveLength(2);
    });
    const { localStoreOf } = await import('../src/cli/local-reader.js');
    beside = await startGateway(cl.httpConfig(), { local: localStoreOf(second.engine), remote: cl.client });
  });

  afterAll(async () => {
    await beside?.close();
  });

  it('serves a file only the first storage holds, fetched from that replica', async () => {
    const data = bytes(20_000, 8);
    // Straight to the first storage's disk: the second cannot have it, synced or not.
    const { Readable } = await import('node:stream');
    const remote = await cl.local.upload(Readable.from([data]), { ext: 'png', maxSize: 1 << 20 });
    const url = `http://127.0.0.1:${beside.address.port}/group1/${remote}`;
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect((await buf(res)).equals(data)).toBe(true);
    expect((await fetch(url, { method: 'HEAD' })).status).toBe(200);
  });
});
