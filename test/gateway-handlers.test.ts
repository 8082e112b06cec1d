/**
 * uploadHandler and fileHandler (issue 13) mounted in a hono app of the test's own, under its own
 * paths, served on node:http and driven with curl: the same multipart and raw-PUT behaviour,
 * limits, metadata and JSON answers as the gateway's POST /upload, and tokens on file URLs.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FdfsClient } from '../src/client/index.js';
import { fastdfsToken, fileHandler, httpConfig, uploadHandler } from '../src/exports/gateway.js';
import { parseFileId } from '../src/fileid/index.js';
import { eventually, type RunningNode, startNode } from './helpers/node-process.js';
import { storedNames } from './helpers/stored.js';

const KEY = 'k'.repeat(32);
const SECRET = 'token-secret-of-the-test';
let node: RunningNode;
let client: FdfsClient;
let server: ServerType;
let base: string;

interface Reply {
  status: number;
  body: string;
  json: () => Record<string, unknown>;
}

/** curl with `args`, answering the status and the body (curl prints the status on a last line). */
function curl(...args: string[]): Promise<Reply> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '-w', '\n%{http_code}', ...args], (err, stdout) => {
      if (err) return reject(err);
      const cut = stdout.lastIndexOf('\n');
      const body = stdout.slice(0, cut);
      resolve({ status: Number(stdout.slice(cut + 1)), body, json: () => JSON.parse(body) });
    });
  });
}

const bearer = ['-H', `Authorization: Bearer ${KEY}`];

beforeAll(async () => {
  node = await startNode();
  client = new FdfsClient({ trackers: [`${node.tracker.host}:${node.tracker.port}`] });
  await eventually(() => client.upload(Buffer.from('warm-up')));
  const config = httpConfig({
    'http.upload.max_size': '64KB',
    'http.auth.api_key': KEY,
    'http.anti_steal.check_token': true,
    'http.anti_steal.secret_key': SECRET,
    'http.public_url': 'https://img.example.com/files',
  });
  const app = new Hono();
  app.get('/', (c) => c.text('the app of the test'));
  app.on(['POST', 'PUT'], '/files/:name?', uploadHandler({ client, config }));
  app.get('/files/*', fileHandler({ client, config, prefix: '/files' }));
  const port = await new Promise<number>((res) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => res(info.port));
  });
  base = `http://127.0.0.1:${port}`;
}, 30_000);

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await client?.close();
  expect(await node?.stop()).toBe(0);
});

describe('uploadHandler in a hono app of its own', () => {
  it('takes multipart uploads with metadata and answers as POST /upload does', async () => {
    const path = join(node.base, 'a.txt');
    await writeFile(path, 'hello handler');
    const r = await curl(...bearer, '-F', 'meta.author=me', '-F', `file=@${path}`, `${base}/files`);
    expect(r.status).toBe(200);
    const [f] = r.json().files as Record<string, unknown>[];
    expect(Object.keys(f ?? {}).sort()).toEqual(['crc32', 'fileId', 'group', 'name', 'size', 'url']);
    expect(f).toMatchObject({ name: 'a.txt', size: 13, group: 'group1' });
    const fileId = String(f?.fileId);
    expect(f?.url).toBe(`https://img.example.com/files/${fileId}`);
    expect((await client.downloadBuffer(fileId)).toString()).toBe('hello handler');
    expect(await client.getMetadata(fileId)).toEqual({ author: 'me' });
    // The gateway's own POST /upload answers the same fields for the same file.
    const g = await curl(
      '-F',
      'meta.author=me',
      '-F',
      `file=@${path}`,
      `http://127.0.0.1:${node.http.port}/upload`,
    );
    const [gf] = g.json().files as Record<string, unknown>[];
    expect(Object.keys(gf ?? {}).sort()).toEqual(Object.keys(f ?? {}).sort());
    expect({ ...gf, fileId: '', url: '' }).toEqual({ ...f, fileId: '', url: '' });
  });

  it('takes a raw PUT named by the last path segment, with ?group= and X-Fdfs-Meta-* headers', async () => {
    const path = join(node.base, 'b.bin');
    await writeFile(path, Buffer.alloc(5000, 7));
    const r = await curl(
      ...bearer,
      '-T',
      path,
      '-H',
      'X-Fdfs-Meta-Color: red',
      `${base}/files/b.bin?group=group1`,
    );
    expect(r.status).toBe(200);
    const f = r.json();
    expect(f).toMatchObject({ name: 'b.bin', size: 5000, group: 'group1' });
    expect(String(f.fileId)).toMatch(/^group1\/M00\/.+\.bin$/);
    expect(await client.getMetadata(String(f.fileId))).toEqual({ color: 'red' });
  });

  it('refuses without the bearer key (401) and past the size limit (413), storing nothing', async () => {
    const before = await storedNames(node.base);
    const small = join(node.base, 'c.txt');
    await writeFile(small, 'x');
    const anon = await curl('-F', `file=@${small}`, `${base}/files`);
    expect(anon.status).toBe(401);
    expect(anon.json()).toEqual({
      error: { code: 'FDFS_ERR_EACCES', message: 'a bearer token is required to upload' },
    });
    const wrong = await curl('-H', 'Authorization: Bearer nope', '-T', small, `${base}/files/c.txt`);
    expect(wrong.status).toBe(401);
    const big = join(node.base, 'big.bin');
    await writeFile(big, Buffer.alloc(100_000, 1));
    for (const args of [
      ['-F', `file=@${big}`, `${base}/files`],
      ['-T', big, `${base}/files/big.bin`],
    ]) {
      const r = await curl(...bearer, ...args);
      expect(r.status).toBe(413);
      expect((r.json().error as Record<string, unknown>).code).toBe('FDFS_ERR_EFBIG');
    }
    expect(await storedNames(node.base)).toEqual(before);
  });

  it('leaves the rest of the app alone', async () => {
    expect((await curl(`${base}/`)).body).toBe('the app of the test');
  });
});

describe('fileHandler under /files', () => {
  it('serves a file only with a valid FastDFS token, with ranges', async () => {
    const fileId = await client.upload(Buffer.from('0123456789'), { ext: 'txt' });
    const url = `${base}/files/${fileId}`;
    const none = await curl(url);
    expect(none.status).toBe(403);
    expect(none.json()).toEqual({ error: { code: 'FDFS_ERR_EPERM', message: 'token and ts are required' } });
    const ts = Math.floor(Date.now() / 1000);
    const token = fastdfsToken(parseFileId(fileId).remoteFilename, SECRET, ts);
    const bad = await curl(`${url}?token=${'0'.repeat(32)}&ts=${ts}`);
    expect(bad.status).toBe(403);
    const ok = await curl(`${url}?token=${token}&ts=${ts}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('0123456789');
    const part = await curl('-r', '2-4', `${url}?token=${token}&ts=${ts}`);
    expect(part.status).toBe(206);
    expect(part.body).toBe('234');
    const head = await curl('-I', `${url}?token=${token}&ts=${ts}`);
    expect(head.body).toMatch(/content-length: 10/i);
  });

  it('answers 404 for a path that is no file URL, and for a missing file', async () => {
    expect((await curl(`${base}/files/not-a-file`)).status).toBe(404);
    const ts = Math.floor(Date.now() / 1000);
    const remote = 'M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png';
    const gone = await curl(
      `${base}/files/group1/${remote}?token=${fastdfsToken(remote, SECRET, ts)}&ts=${ts}`,
    );
    expect(gone.status).toBe(404);
    expect((gone.json().error as Record<string, unknown>).code).toBe('FDFS_ERR_ENOENT');
  });
});
