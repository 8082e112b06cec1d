/**
 * The hono app in process (app.request(), no socket) against a real in-process tracker + storage:
 * the same routes as the served gateway, reachable without a port, plus the web page.
 */
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/gateway/index.js';
import { type InProcessCluster, startCluster } from './helpers/gateway-cluster.js';

const PUBLIC = resolve(import.meta.dirname, '../public');
let cl: InProcessCluster;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  cl = await startCluster();
  app = createApp(cl.httpConfig(), { local: cl.local, remote: cl.client, publicDir: PUBLIC });
}, 30_000);

afterAll(async () => {
  await cl?.close();
});

async function upload(name: string, data: Buffer): Promise<{ fileId: string; url: string }> {
  const form = new FormData();
  form.append('meta.origin', 'app');
  form.append('file', new Blob([data]), name);
  const res = await app.request('/upload', { method: 'POST', body: form });
  expect(res.status).toBe(200);
  return ((await res.json()) as { files: { fileId: string; url: string }[] }).files[0] as {
    fileId: string;
    url: string;
  };
}

describe('routes through app.request()', () => {
  it('uploads, downloads, answers HEAD, ranges and 304, deletes', async () => {
    const data = Buffer.from('x'.repeat(3000));
    const s = await upload('a.txt', data);
    expect(s.url).toBe(`http://localhost/${s.fileId}`);
    const res = await app.request(`/${s.fileId}`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
    const head = await app.request(`/${s.fileId}`, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe('3000');
    expect(head.headers.get('x-fdfs-meta-origin')).toBe('app');
    const part = await app.request(`/${s.fileId}`, { headers: { Range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(await part.text()).toBe('x'.repeat(10));
    const etag = res.headers.get('etag') as string;
    expect((await app.request(`/${s.fileId}`, { headers: { 'If-None-Match': etag } })).status).toBe(304);
    expect((await app.request(`/${s.fileId}`, { method: 'DELETE' })).status).toBe(204);
    expect((await app.request(`/${s.fileId}`)).status).toBe(404);
  });

  it('streams big files through a web stream', async () => {
    const data = Buffer.alloc(700_000, 0x61);
    const s = await upload('big.bin', data);
    const res = await app.request(`/${s.fileId}`);
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
  });

  it('answers errors as JSON { error: { code, message } } with the mapped status', async () => {
    const cases: [string, RequestInit, number, string][] = [
      ['/no/such/route', {}, 404, 'FDFS_ERR_ENOENT'],
      ['/group1/M00/00/00/short.png', {}, 400, 'FDFS_ERR_EINVAL'],
      ['/api/sign', { method: 'POST', body: '{"fileId":"group1/x"}' }, 400, 'FDFS_ERR_EINVAL'],
      ['/api/sign', { method: 'POST', body: 'not json' }, 400, 'FDFS_ERR_EINVAL'],
      [
        '/api/sign',
        {
          method: 'POST',
          body: JSON.stringify({ fileId: 'group1/M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png' }),
        },
        501,
        'FDFS_ERR_EOPNOTSUPP',
      ],
    ];
    for (const [path, init, status, code] of cases) {
      const res = await app.request(path, init);
      expect(res.status, path).toBe(status);
      expect(((await res.json()) as { error: { code: string } }).error.code, path).toBe(code);
    }
  });

  it('serves the web page with a strict CSP, and only its own files', async () => {
    const page = await app.request('/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('<html');
    const js = await app.request('/app.js');
    expect(js.headers.get('content-type')).toMatch(/^(application|text)\/javascript/);
    expect((await app.request('/nope.js')).status).toBe(404);
    expect((await app.request('/..%2fpackage.json')).status).toBe(404);
    const config = (await (await app.request('/api/config')).json()) as Record<string, unknown>;
    expect(config).toMatchObject({ auth: false, signing: false, localGroup: 'group1' });
  });

  it('sends the token_check_fail file instead of a 403 when configured', async () => {
    const failPath = join(cl.base, 'anti-steal.png');
    await writeFile(failPath, Buffer.from('PNG placeholder'));
    const guarded = createApp(
      cl.httpConfig({
        'http.anti_steal.check_token': 'true',
        'http.anti_steal.secret_key': 'FastDFS1234567890',
        'http.anti_steal.token_check_fail': failPath,
      }),
      { local: cl.local, remote: cl.client },
    );
    const s = await upload('p.png', Buffer.from('real'));
    const res = await guarded.request(`/${s.fileId}?token=00000000000000000000000000000000&ts=1`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.text()).toBe('PNG placeholder');
  });

  it('counts requests in /metrics', async () => {
    const text = await (await app.request('/metrics')).text();
    expect(text).toMatch(/fdfs_http_requests_total\{route="upload",method="POST",code="200"\} \d+/);
    expect(text).toMatch(/fdfs_http_requests_total\{route="file",method="GET",code="404"\} \d+/);
  });

  it('reports the process memory in /metrics', async () => {
    const text = await (await app.request('/metrics')).text();
    const gauge = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? -1);
    const rss = gauge('process_resident_memory_bytes');
    const heapUsed = gauge('nodejs_heap_used_bytes');
    expect(rss).toBeGreaterThan(heapUsed);
    expect(heapUsed).toBeGreaterThan(1 << 20);
    expect(gauge('nodejs_heap_total_bytes')).toBeGreaterThanOrEqual(heapUsed);
    expect(gauge('nodejs_external_memory_bytes')).toBeGreaterThan(0);
  });
});
