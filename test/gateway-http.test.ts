/**
 * Issue #3's acceptance list against a real gateway on an ephemeral port, beside a real in-process
 * tracker + storage, driven with fetch (and raw node:http where fetch would clean the input up).
 */
import { request } from 'node:http';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayHandle, startGateway } from '../src/gateway/index.js';
import { type InProcessCluster, rawRequest, startCluster } from './helpers/gateway-cluster.js';
import { eventually } from './helpers/node-process.js';

const bytes = (n: number, seed = 1) =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

interface Stored {
  fileId: string;
  url: string;
  size: number;
  crc32: number;
  group: string;
  name: string;
}

let cl: InProcessCluster;
let gw: GatewayHandle;
let origin: string;

async function postForm(
  form: FormData,
  base = origin,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${base}/upload`, { method: 'POST', body: form, headers });
}

async function uploadFiles(files: { name: string; data: Buffer }[], fields: [string, string][] = []) {
  const form = new FormData();
  for (const [k, v] of fields) form.append(k, v);
  for (const f of files) form.append('file', new Blob([f.data]), f.name);
  const res = await postForm(form);
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { files: Stored[] }).files;
}

async function body(res: Response): Promise<Buffer> {
  return Buffer.from(await res.arrayBuffer());
}

beforeAll(async () => {
  cl = await startCluster();
  gw = await startGateway(cl.httpConfig({ 'http.upload.max_size': '1MB', 'http.upload.max_fields': '100' }), {
    local: cl.local,
    remote: cl.client,
  });
  origin = `http://127.0.0.1:${gw.address.port}`;
}, 30_000);

afterAll(async () => {
  await gw?.close();
  await cl?.close();
});

describe('uploads', () => {
  it('stores several multipart files with metadata and serves the same bytes', async () => {
    const files = [
      { name: 'photo.jpg', data: bytes(5000) },
      { name: 'notes.txt', data: Buffer.from('hello gateway\n') },
      { name: 'big.bin', data: bytes(600_000, 7) }, // over the small-file cache: streamed from disk
    ];
    const stored = await uploadFiles(files, [
      ['meta.author', '张三'],
      ['meta.width', '100'],
    ]);
    expect(stored).toHaveLength(3);
    for (const [i, s] of stored.entries()) {
      const f = files[i] as { name: string; data: Buffer };
      expect(s.fileId).toMatch(/^group1\/M00\/[0-9A-F]{2}\/[0-9A-F]{2}\/[A-Za-z0-9_-]{27}\d*\.?\w*$/);
      expect(s).toMatchObject({
        url: `${origin}/${s.fileId}`,
        size: f.data.length,
        group: 'group1',
        name: f.name,
      });
      expect(s.crc32).toBe(crc32(f.data));
      expect(s.fileId.endsWith(`.${f.name.split('.')[1]}`)).toBe(true);
      const res = await fetch(s.url);
      expect(res.status).toBe(200);
      expect((await body(res)).equals(f.data)).toBe(true);
    }
    const head = await fetch((stored[0] as Stored).url, { method: 'HEAD' });
    expect(decodeURIComponent(head.headers.get('x-fdfs-meta-author') ?? '')).toBe('张三');
    expect(head.headers.get('x-fdfs-meta-width')).toBe('100');
    expect(await cl.tempFiles()).toEqual([]);
  });

  it('stores a raw PUT, with a length or chunked, with metadata headers', async () => {
    const data = bytes(70_000, 3);
    const put = await fetch(`${origin}/upload/${encodeURIComponent('相片.png')}`, {
      method: 'PUT',
      body: data,
      headers: { 'X-Fdfs-Meta-Camera': encodeURIComponent('Nikon 尼康') },
    });
    expect(put.status).toBe(200);
    const s = (await put.json()) as Stored;
    expect(s).toMatchObject({ size: data.length, crc32: crc32(data), name: '相片.png', group: 'group1' });
    expect(s.fileId.endsWith('.png')).toBe(true);
    expect((await body(await fetch(s.url))).equals(data)).toBe(true);
    const head = await fetch(s.url, { method: 'HEAD' });
    expect(decodeURIComponent(head.headers.get('x-fdfs-meta-camera') ?? '')).toBe('Nikon 尼康');

    const chunked = await fetch(`${origin}/upload/stream.bin`, {
      method: 'PUT',
      body: new Blob([data]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(200);
    expect((await body(await fetch(((await chunked.json()) as Stored).url))).equals(data)).toBe(true);
  });
});

describe('downloads', () => {
  let small: Stored;
  let big: Stored;
  const smallData = bytes(4096, 5);
  const bigData = bytes(400_000, 9);

  beforeAll(async () => {
    [small, big] = (await uploadFiles([
      { name: 'small.png', data: smallData },
      { name: 'big.mp4', data: bigData },
    ])) as [Stored, Stored];
  });

  it('HEAD gives the headers of a GET and no body', async () => {
    const res = await fetch(small.url, { method: 'HEAD' });
    expect(res.status).toBe(200);
    const h = res.headers;
    expect(h.get('content-type')).toBe('image/png');
    expect(h.get('content-length')).toBe('4096');
    expect(h.get('etag')).toMatch(/^"[A-Za-z0-9_-]{27}\d*\.png"$/);
    expect(Date.parse(h.get('last-modified') ?? '')).toBeGreaterThan(0);
    expect(h.get('cache-control')).toMatch(/^public, max-age=\d+, immutable$/);
    expect(h.get('accept-ranges')).toBe('bytes');
    expect(h.get('x-content-type-options')).toBe('nosniff');
    expect(h.get('content-disposition')).toBeNull(); // an image is shown inline
    expect((await body(res)).length).toBe(0);
  });

  it.each(['small', 'big'])('answers a single range with 206 (%s file)', async (which) => {
    const [s, data] = which === 'small' ? [small, smallData] : [big, bigData];
    const res = await fetch(s.url, { headers: { Range: 'bytes=100-199' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes 100-199/${data.length}`);
    expect((await body(res)).equals(data.subarray(100, 200))).toBe(true);
    const tail = await fetch(s.url, { headers: { Range: 'bytes=-10' } });
    expect((await body(tail)).equals(data.subarray(data.length - 10))).toBe(true);
  });

  it.each(['small', 'big'])('answers several ranges as multipart/byteranges (%s file)', async (which) => {
    const [s, data] = which === 'small' ? [small, smallData] : [big, bigData];
    const res = await fetch(s.url, { headers: { Range: 'bytes=0-9, 1000-1099, -5' } });
    expect(res.status).toBe(206);
    const type = res.headers.get('content-type') ?? '';
    const boundary = /^multipart\/byteranges; boundary=(\S+)$/.exec(type)?.[1];
    expect(boundary).toBeDefined();
    const text = await body(res);
    expect(Number(res.headers.get('content-length'))).toBe(text.length);
    const parts = text.toString('latin1').split(`--${boundary}`).slice(1, -1);
    const want = [
      [0, 9],
      [1000, 1099],
      [data.length - 5, data.length - 1],
    ];
    expect(parts).toHaveLength(3);
    for (const [i, part] of parts.entries()) {
      const [start, end] = want[i] as [number, number];
      const [head, payload] = part.split('\r\n\r\n') as [string, string];
      expect(head).toContain(`Content-Range: bytes ${start}-${end}/${data.length}`);
      const got = Buffer.from(payload.replace(/\r\n$/, ''), 'latin1');
      expect(got.equals(data.subarray(start, end + 1))).toBe(true);
    }
  });

  it('answers an unsatisfiable or malformed Range with 416', async () => {
    for (const range of ['bytes=5000-6000', 'bytes=abc', 'bytes=9-1', `bytes=${'9'.repeat(25)}-`]) {
      const res = await fetch(small.url, { headers: { Range: range } });
      expect(res.status, range).toBe(416);
      expect(res.headers.get('content-range')).toBe('bytes */4096');
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain('range');
    }
  });

  it('answers 304 on a matching ETag and on If-Modified-Since', async () => {
    const first = await fetch(small.url);
    const etag = first.headers.get('etag') as string;
    const lastModified = first.headers.get('last-modified') as string;
    await first.arrayBuffer();
    const byTag = await fetch(small.url, { headers: { 'If-None-Match': etag } });
    expect(byTag.status).toBe(304);
    expect(byTag.headers.get('etag')).toBe(etag);
    const byDate = await fetch(small.url, { headers: { 'If-Modified-Since': lastModified } });
    expect(byDate.status).toBe(304);
    const older = new Date(Date.parse(lastModified) - 3_600_000).toUTCString();
    const changed = await fetch(small.url, { headers: { 'If-Modified-Since': older } });
    expect(changed.status).toBe(200);
    expect((await body(changed)).equals(smallData)).toBe(true);
    const otherTag = await fetch(big.url, { headers: { 'If-None-Match': etag } });
    expect(otherTag.status).toBe(200);
    await otherTag.arrayBuffer();
  });

  it('sends ?filename= and ?attname= as an attachment whose Chinese name survives', async () => {
    for (const q of ['filename', 'attname']) {
      const res = await fetch(`${small.url}?${q}=${encodeURIComponent('报告 2024.png')}`);
      expect(res.status).toBe(200);
      const cd = res.headers.get('content-disposition') ?? '';
      expect(cd).toMatch(/^attachment; filename="[\x20-\x7e]+"; /);
      const star = /filename\*=UTF-8''(\S+)$/.exec(cd)?.[1] ?? '';
      expect(decodeURIComponent(star)).toBe('报告 2024.png');
      await res.arrayBuffer();
    }
  });

  it('never shows script-capable types inline', async () => {
    const [svg, html] = await uploadFiles([
      {
        name: 'x.svg',
        data: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
      },
      { name: 'x.html', data: Buffer.from('<script>alert(1)</script>') },
    ]);
    for (const s of [svg, html] as Stored[]) {
      const res = await fetch(s.url);
      expect(res.headers.get('content-disposition')).toMatch(/^attachment/);
      expect(res.headers.get('content-security-policy')).toContain('sandbox');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      await res.arrayBuffer();
    }
  });

  it('serves the URL without the group (url_have_group_name = false)', async () => {
    const res = await fetch(`${origin}/${small.fileId.slice('group1/'.length)}`);
    expect(res.status).toBe(200);
    expect((await body(res)).equals(smallData)).toBe(true);
  });
});

describe('delete', () => {
  it('deletes (204), then GET, HEAD and DELETE say 404', async () => {
    const [s] = (await uploadFiles([{ name: 'gone.png', data: bytes(2000) }])) as [Stored];
    expect((await fetch(s.url)).status).toBe(200); // now in the small-file cache
    const del = await fetch(s.url, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect((await fetch(s.url)).status).toBe(404);
    expect((await fetch(s.url, { method: 'HEAD' })).status).toBe(404);
    const again = await fetch(s.url, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('FDFS_ERR_ENOENT');
  });
});

describe('bad input', () => {
  const FILE = 'M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png';

  it('refuses `..` and `%2e%2e` paths with 400, sent as is', async () => {
    for (const path of [
      '/group1/M00/00/00/../../../../etc/passwd',
      '/group1/M00/00/00/%2e%2e/%2e%2e/etc/passwd',
      '/group1/M00/%2E%2E/00/passwd.png',
      '/group1/M00/00/00/..%2f..%2fetc%2fpasswd',
      '/M00/../../etc/passwd',
    ]) {
      const res = await rawRequest(gw.address.port, 'GET', path);
      expect(res.status, path).toBe(400);
      expect(JSON.parse(res.body.toString()).error.code).toBe('FDFS_ERR_EINVAL');
      const del = await rawRequest(gw.address.port, 'DELETE', path);
      expect(del.status, path).toBe(400);
    }
  });

  it('answers 404 for an unknown group and for a missing file', async () => {
    expect((await fetch(`${origin}/nosuchgroup/${FILE}`)).status).toBe(404);
    expect((await fetch(`${origin}/group1/${FILE}`)).status).toBe(404);
    expect((await fetch(`${origin}/no/such/route`)).status).toBe(404);
  });

  it('refuses a truncated multipart body (400), storing nothing and leaving no temp file', async () => {
    const before = await cl.storedFiles();
    const boundary = 'XyZ123';
    const cut = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n`),
      bytes(50_000),
    ]);
    const res = await fetch(`${origin}/upload`, {
      method: 'POST',
      body: cut,
      headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/multipart|end/i);
    expect(await cl.storedFiles()).toEqual(before);
    expect(await cl.tempFiles()).toEqual([]);
  });

  it('refuses a part over the size limit (413) and rolls back the parts before it', async () => {
    const before = await cl.storedFiles();
    const form = new FormData();
    form.append('file', new Blob([bytes(1000)]), 'ok.bin');
    form.append('file', new Blob([bytes(1024 * 1024 + 1)]), 'too-big.bin');
    const res = await postForm(form);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('limit');
    expect(await cl.storedFiles()).toEqual(before);
    expect(await cl.tempFiles()).toEqual([]);
    // The connection and the gateway are fine afterwards.
    expect((await fetch(`${origin}/healthz`)).status).toBe(200);
  });

  it('refuses a PUT over the limit, by Content-Length or while streaming (413)', async () => {
    const before = await cl.storedFiles();
    const big = bytes(1024 * 1024 + 1);
    expect((await fetch(`${origin}/upload/x.bin`, { method: 'PUT', body: big })).status).toBe(413);
    const streamed = await fetch(`${origin}/upload/x.bin`, {
      method: 'PUT',
      body: new Blob([big]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(await cl.storedFiles()).toEqual(before);
    expect(await cl.tempFiles()).toEqual([]);
  });

  it('refuses a 10,000-field form with 413', async () => {
    const form = new FormData();
    for (let i = 0; i < 10_000; i++) form.append(`meta.f${i}`, 'v');
    form.append('file', new Blob([bytes(10)]), 'a.bin');
    const res = await postForm(form);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('fields');
  });

  it.each([
    ['a body that is not multipart', 'text/plain', undefined],
    ['a form without a file', 'form', [['meta.a', '1']]],
    ['an unknown field', 'form', [['colour', 'red']]],
    ['a metadata value over 256 bytes', 'form', [['meta.a', 'x'.repeat(257)]]],
    ['a bad group', 'form', [['group', 'no-such!']]],
  ] as const)('refuses %s with 400', async (_name, kind, fields) => {
    let res: Response;
    if (kind === 'form') {
      const form = new FormData();
      for (const [k, v] of fields ?? []) form.append(k, v);
      if (fields?.[0]?.[0] !== 'meta.a' || fields[0][1] !== '1')
        form.append('file', new Blob([bytes(10)]), 'a.bin');
      res = await postForm(form);
    } else {
      res = await fetch(`${origin}/upload`, {
        method: 'POST',
        body: 'hello',
        headers: { 'Content-Type': kind },
      });
    }
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('FDFS_ERR_EINVAL');
  });

  it('refuses fields after the last file, which apply to nothing', async () => {
    const before = await cl.storedFiles();
    const form = new FormData();
    form.append('file', new Blob([bytes(10)]), 'a.bin');
    form.append('meta.late', '1');
    expect((await postForm(form)).status).toBe(400);
    expect(await cl.storedFiles()).toEqual(before);
  });

  it('survives a client that goes away mid-upload, leaving no temp file', async () => {
    const boundary = 'AbortB';
    await new Promise<void>((resolve) => {
      const req = request({
        host: '127.0.0.1',
        port: gw.address.port,
        method: 'POST',
        path: '/upload',
        headers: {
          'Content-Type': `multipart/form-data; boundary=${boundary}`,
          'Content-Length': '10000000',
        },
      });
      req.on('error', () => resolve());
      req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n`);
      req.write(bytes(200_000), () => setTimeout(() => req.destroy(), 50));
      req.on('close', () => resolve());
    });
    await eventually(async () => expect(await cl.tempFiles()).toEqual([]));
    expect((await fetch(`${origin}/healthz`)).status).toBe(200);
  });
});

describe('cluster, health and metrics', () => {
  it('shows the cluster as fdfs monitor sees it', async () => {
    const res = await fetch(`${origin}/api/cluster`);
    expect(res.status).toBe(200);
    const view = (await res.json()) as {
      groups: { name: string; storages: { status: string; port: number; syncFrom: unknown }[] }[];
    };
    expect(view.groups.map((g) => g.name)).toEqual(['group1']);
    // Alone in its group: our tracker has a matrix for it, with no peer in it.
    expect(view.groups[0]?.storages[0]).toMatchObject({
      status: 'ACTIVE',
      port: cl.storage.address.port,
      syncFrom: [],
    });
  });

  it('answers /healthz and Prometheus /metrics', async () => {
    expect(await (await fetch(`${origin}/healthz`)).json()).toMatchObject({ status: 'ok', local: 'group1' });
    const text = await (await fetch(`${origin}/metrics`)).text();
    expect(text).toMatch(/fdfs_http_requests_total\{route="file",method="GET",code="200"\} \d+/);
    expect(text).toMatch(/fdfs_http_errors_total\{route="upload",kind="client"\} \d+/);
    expect(text).toMatch(/fdfs_http_response_bytes_total\{route="file"\} \d+/);
    expect(text).toMatch(/fdfs_http_upload_bytes_total\{route="upload"\} \d+/);
    expect(text).toMatch(/fdfs_http_request_duration_seconds_bucket\{route="file",le="\+Inf"\} \d+/);
    expect(text).toMatch(/fdfs_http_file_cache_hits_total \d+/);
  });
});
