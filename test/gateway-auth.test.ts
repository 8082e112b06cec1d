/**
 * Who may do what, against a real gateway on an ephemeral port: FastDFS tokens, signed links,
 * bearer auth for writes, and the 127.0.0.1-only rule without keys. The clock is injected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/common/index.js';
import { fastdfsToken, type GatewayHandle, startGateway } from '../src/gateway/index.js';
import { type InProcessCluster, startCluster } from './helpers/gateway-cluster.js';

const KEY = 'FastDFS1234567890';
const SECRET = 'a-link-secret-of-at-least-32-characters!';
const API_KEY = 'test-api-key-0123456789';
const auth = { Authorization: `Bearer ${API_KEY}` };

let cl: InProcessCluster;
let gw: GatewayHandle;
let origin: string;
let clock = Date.UTC(2030, 0, 1);
let fileId: string;
let remote: string;
let other: string;
const data = Buffer.from('protected bytes');

const sec = () => Math.floor(clock / 1000);

beforeAll(async () => {
  cl = await startCluster();
  const config = cl.httpConfig({
    'http.anti_steal.check_token': 'true',
    'http.anti_steal.secret_key': KEY,
    'http.anti_steal.token_ttl': '600',
    'http.jwt.secret': SECRET,
    'http.auth.api_key': API_KEY,
    'http.bind_addr': '127.0.0.1',
  });
  gw = await startGateway(config, { local: cl.local, remote: cl.client, now: () => clock });
  origin = `http://127.0.0.1:${gw.address.port}`;
  const put = await fetch(`${origin}/upload/p.png`, { method: 'PUT', body: data, headers: auth });
  expect(put.status).toBe(200);
  fileId = ((await put.json()) as { fileId: string }).fileId;
  remote = fileId.slice('group1/'.length);
  other = await cl.client.upload(Buffer.from('another'), { ext: 'png' });
}, 30_000);

afterAll(async () => {
  await gw?.close();
  await cl?.close();
});

const get = (query: string) => fetch(`${origin}/${fileId}${query}`);

describe('FastDFS token (check_token = true)', () => {
  it('accepts a good token and keeps the answer out of shared caches', async () => {
    const ts = sec() - 10;
    const res = await get(`?token=${fastdfsToken(remote, KEY, ts)}&ts=${ts}`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
    expect(res.headers.get('cache-control')).toBe('private, no-cache');
  });

  it.each([
    ['no token', () => '', 'required'],
    [
      'an expired token',
      () => `?token=${fastdfsToken(remote, KEY, sec() - 601)}&ts=${sec() - 601}`,
      'expired',
    ],
    ['a wrong token', () => `?token=${fastdfsToken(remote, 'other-key', sec())}&ts=${sec()}`, 'wrong'],
    ['ts=0', () => `?token=${fastdfsToken(remote, KEY, 0)}&ts=0`, 'ts=0'],
    [
      'a ts in the future',
      () => `?token=${fastdfsToken(remote, KEY, sec() + 3600)}&ts=${sec() + 3600}`,
      'future',
    ],
    ["another file's token", () => `?token=${fastdfsToken(other.slice(7), KEY, sec())}&ts=${sec()}`, 'wrong'],
  ])('refuses %s with 403', async (_name, query, why) => {
    const res = await get(query());
    expect(res.status).toBe(403);
    const err = (await res.json()) as { error: { code: string; message: string } };
    expect(err.error.code).toBe('FDFS_ERR_EPERM');
    expect(err.error.message).toContain(why);
  });
});

describe('signed links', () => {
  async function sign(id: string, ttl: number): Promise<string> {
    const res = await fetch(`${origin}/api/sign`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ fileId: id, ttl }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { url: string; expires: number };
    expect(body.expires).toBe(sec() + ttl);
    return body.url;
  }

  it('opens the file until it expires', async () => {
    const url = await sign(fileId, 60);
    expect(url.startsWith(`${origin}/${fileId}?sig=`)).toBe(true);
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(Buffer.from(await ok.arrayBuffer()).equals(data)).toBe(true);
    clock += 61_000;
    const late = await fetch(url);
    expect(late.status).toBe(403);
    expect(((await late.json()) as { error: { message: string } }).error.message).toContain('expired');
  });

  it('does not open another file', async () => {
    const url = await sign(other, 60);
    const sig = new URL(url).searchParams.get('sig');
    const res = await get(`?sig=${sig}`);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('another file');
  });

  it('needs a bearer token to sign', async () => {
    const res = await fetch(`${origin}/api/sign`, {
      method: 'POST',
      body: JSON.stringify({ fileId, ttl: 60 }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });
});

describe('write access with http.auth keys', () => {
  it('refuses an unauthenticated or wrongly authenticated DELETE, and the file stays', async () => {
    for (const headers of [{}, { Authorization: 'Bearer nope-nope-nope-nope' }, { Authorization: API_KEY }]) {
      const res = await fetch(`${origin}/${other}`, { method: 'DELETE', headers });
      expect(res.status).toBe(401);
    }
    expect((await cl.client.downloadBuffer(other)).toString()).toBe('another');
    expect((await fetch(`${origin}/${other}`, { method: 'DELETE', headers: auth })).status).toBe(204);
  });

  it('refuses unauthenticated uploads and the cluster view, storing nothing', async () => {
    const before = await cl.storedFiles();
    const form = new FormData();
    form.append('file', new Blob([data]), 'x.png');
    expect((await fetch(`${origin}/upload`, { method: 'POST', body: form })).status).toBe(401);
    expect((await fetch(`${origin}/upload/x.png`, { method: 'PUT', body: data })).status).toBe(401);
    expect((await fetch(`${origin}/api/cluster`)).status).toBe(401);
    expect((await fetch(`${origin}/api/cluster`, { headers: auth })).status).toBe(200);
    expect(await cl.storedFiles()).toEqual(before);
  });

  it('tells the web page what it needs, and nothing secret', async () => {
    const res = await fetch(`${origin}/api/config`);
    const body = await res.text();
    expect(JSON.parse(body)).toMatchObject({ auth: true, signing: true, tokens: true });
    for (const secret of [KEY, SECRET, API_KEY]) expect(body).not.toContain(secret);
  });
});

describe('where the gateway listens', () => {
  it('binds 127.0.0.1 only, and says so, when no http.auth key is set', async () => {
    const lines: string[] = [];
    const logger = createLogger({ write: (l) => lines.push(l) });
    const open = await startGateway(cl.httpConfig({ 'http.bind_addr': '0.0.0.0' }), {
      local: cl.local,
      logger,
    });
    try {
      expect(open.address.host).toBe('127.0.0.1');
      expect(lines.some((l) => l.includes('listening on 127.0.0.1 only'))).toBe(true);
    } finally {
      await open.close();
    }
  });

  it('binds as asked with keys, and never logs a secret', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', write: (l) => lines.push(l) });
    const keyed = await startGateway(
      cl.httpConfig({ 'http.bind_addr': '0.0.0.0', 'http.auth.api_key': API_KEY, 'http.jwt.secret': SECRET }),
      { local: cl.local, logger },
    );
    try {
      expect(keyed.address.host).toBe('0.0.0.0');
      const base = `http://127.0.0.1:${keyed.address.port}`;
      await fetch(`${base}/${fileId}`, {
        method: 'DELETE',
        headers: { Authorization: 'Bearer wrong-key-000000000' },
      });
      await fetch(`${base}/upload/a.png`, { method: 'PUT', body: data, headers: auth });
      // Refused download credentials are logged by path only: the query holds them.
      expect((await fetch(`${base}/${fileId}?sig=eyJleHBvc2VkIjoxfQ.eyJ4IjoxfQ.c2VjcmV0c2ln`)).status).toBe(
        403,
      );
    } finally {
      await keyed.close();
    }
    const text = lines.join('\n');
    expect(text).toContain('request refused');
    for (const secret of [SECRET, API_KEY, 'wrong-key-000000000', 'c2VjcmV0c2ln']) {
      expect(text).not.toContain(secret);
    }
  });
});
