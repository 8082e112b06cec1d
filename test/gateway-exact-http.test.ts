/**
 * The gateway of a real `fdfs start`, spoken to byte by byte over raw sockets: clients that hang
 * up mid-upload, HTTP/1.0 without Host, methods a file URL does not take, and the storage's own
 * counters (`fdfs monitor`, /api/cluster) for what went through the gateway.
 */
import { readdir } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type RunningNode, startNode } from './helpers/node-process.js';

let node: RunningNode;
let url: string;

beforeAll(async () => {
  node = await startNode();
  url = `http://${node.http.host}:${node.http.port}`;
});

afterAll(async () => {
  expect(await node?.stop()).toBe(0);
});

/** Sends `bytes`, then collects what comes back until the server closes or `waitMs` passes. */
function exchange(bytes: string | Buffer, waitMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s: Socket = connect(node.http.port, node.http.host, () => s.write(bytes));
    const timer = setTimeout(() => s.destroy(), waitMs);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    s.on('error', reject);
  });
}

/** A PUT announcing 100000 bytes that sends 1000 and is destroyed at once (or a moment later). */
function hangUpPut(i: number): Promise<void> {
  const head =
    `PUT /upload/cut-${i}.bin HTTP/1.1\r\nHost: ${node.http.host}:${node.http.port}\r\n` +
    'Content-Length: 100000\r\n\r\n';
  return new Promise((resolve) => {
    const s = connect(node.http.port, node.http.host, () => {
      s.write(Buffer.concat([Buffer.from(head), Buffer.alloc(1000, 0x42)]));
      const kill = () => {
        s.destroy();
        resolve();
      };
      // Several moments: before the store has opened its temp file, and while it writes.
      if (i % 3 === 0) kill();
      else if (i % 3 === 1) setImmediate(kill);
      else setTimeout(kill, i % 5);
    });
    s.on('error', () => resolve());
  });
}

async function tempFiles(): Promise<string[]> {
  return readdir(join(node.base, 'storage', 'data', '.tmp'));
}

describe('clients that hang up mid-PUT', () => {
  it('never take the node down and leave no temp file', async () => {
    // One at a time: the unhandled error needed the hang-up to land in a short window.
    for (let i = 0; i < 60 && node.child.exitCode === null; i++) await hangUpPut(i);
    expect(node.child.exitCode).toBeNull();
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    const put = await fetch(`${url}/upload/after.txt`, { method: 'PUT', body: 'after the hang-ups' });
    expect(put.status).toBe(200);
    const { fileId } = (await put.json()) as { fileId: string };
    expect(await (await fetch(`${url}/${fileId}`)).text()).toBe('after the hang-ups');
    await eventually(async () => expect(await tempFiles()).toEqual([]), 10_000);
  });
});

describe('HTTP/1.0 without a Host header (a load balancer health check)', () => {
  it.each([
    ['/healthz', '"status":"ok"'],
    ['/api/config', '"maxUploadSize"'],
    ['/', '<html'],
  ])('GET %s answers 200', async (path, want) => {
    const answer = await exchange(`GET ${path} HTTP/1.0\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.[01] 200 /);
    expect(answer.toLowerCase()).toContain(want.toLowerCase());
  });

  it('serves a file and takes an upload the same way', async () => {
    const up = await exchange('PUT /upload/old.txt HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello');
    expect(up).toMatch(/^HTTP\/1\.[01] 200 /);
    const fileId = /"fileId":"([^"]+)"/.exec(up)?.[1];
    expect(fileId).toBeDefined();
    const down = await exchange(`GET /${fileId} HTTP/1.0\r\n\r\n`);
    expect(down).toMatch(/^HTTP\/1\.[01] 200 /);
    expect(down.endsWith('\r\n\r\nhello')).toBe(true);
  });
});

describe('methods on a file URL', () => {
  let fileUrl: string;
  beforeAll(async () => {
    const put = await fetch(`${url}/upload/m.txt`, { method: 'PUT', body: 'methods' });
    fileUrl = `${url}/${((await put.json()) as { fileId: string }).fileId}`;
  });

  it.each(['POST', 'PUT', 'PATCH', 'PROPFIND'])('%s answers 405 with Allow', async (method) => {
    const res = await fetch(fileUrl, { method, body: method === 'PROPFIND' ? null : 'x' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD, DELETE');
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain(method);
    expect(await (await fetch(fileUrl)).text()).toBe('methods');
  });

  it('OPTIONS answers 204 with Allow; the short URL form too', async () => {
    for (const u of [fileUrl, fileUrl.replace(/\/group1\//, '/')]) {
      const res = await fetch(u, { method: 'OPTIONS' });
      expect(res.status, u).toBe(204);
      expect(res.headers.get('allow')).toBe('GET, HEAD, DELETE');
    }
  });

  it('leaves other paths a 404', async () => {
    expect((await fetch(`${url}/nothing/here`, { method: 'POST' })).status).toBe(404);
  });
});

describe('a client that hangs up mid-upload', () => {
  /** Sends half a body, waits until the gateway is writing it, then resets the connection. */
  function cut(path: string, host: string): Promise<void> {
    return new Promise((resolve) => {
      const s = connect(node.http.port, node.http.host, () => {
        s.write(`PUT ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 200000\r\n\r\n`);
        s.write(Buffer.alloc(100_000, 0x43));
        setTimeout(() => {
          s.resetAndDestroy();
          resolve();
        }, 200);
      });
      s.on('error', () => resolve());
    });
  }

  // "Localhost" is a Host @hono/node-server accepts and the raw upload path leaves to it.
  it.each([
    ['the raw path', '/upload/cut-raw.bin', () => `${node.http.host}:${node.http.port}`],
    ['the hono path', '/upload/cut-hono.bin', () => `Localhost:${node.http.port}`],
  ])('is logged at info and counted as 499 (%s)', async (_via, path, host) => {
    await cut(path, host());
    const line = await eventually(async () => {
      const found = node.stderr.find((l) => l.includes(`"path":"${path}"`));
      if (!found) throw new Error(`no log line for ${path}`);
      return JSON.parse(found) as { level: string; status: number };
    });
    expect(line).toMatchObject({ level: 'info', status: 499 });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/fdfs_http_requests_total\{route="upload",method="PUT",code="499"\} [1-9]/);
    expect(metrics).not.toMatch(/route="upload",method="PUT",code="500"/);
    await eventually(async () => expect(await tempFiles()).toEqual([]), 10_000);
  });
});

describe("the storage's counters", () => {
  // A node of its own, with nothing else going on: its counters start at 0 and every change is
  // this test's. Heartbeats every second bring them to the tracker (and /api/cluster) soon.
  let own: RunningNode;
  let base: string;
  beforeAll(async () => {
    own = await startNode({ args: ['--set', 'heart_beat_interval=1'] });
    base = `http://${own.http.host}:${own.http.port}`;
  });
  afterAll(async () => {
    expect(await own?.stop()).toBe(0);
  });

  type Counters = Record<string, number>;
  async function counters(): Promise<Counters> {
    const res = await fetch(`${base}/api/cluster`);
    expect(res.status).toBe(200);
    const view = (await res.json()) as { groups: { storages: { counters: Counters }[] }[] };
    const storage = view.groups[0]?.storages[0];
    if (!storage) throw new Error('no storage in /api/cluster');
    return storage.counters;
  }

  it('include uploads, downloads and deletes through the gateway beside the storage', async () => {
    const small = Buffer.alloc(1000, 0x61); // cached after the first read
    const big = Buffer.alloc(600_000, 0x62); // over the small-file cache: streamed from disk
    const ids: string[] = [];
    for (const data of [small, big]) {
      const put = await fetch(`${base}/upload/c.bin`, { method: 'PUT', body: data });
      expect(put.status).toBe(200);
      ids.push(((await put.json()) as { fileId: string }).fileId);
    }
    for (const id of ids) {
      for (let i = 0; i < 2; i++) expect((await fetch(`${base}/${id}`)).status).toBe(200);
    }
    const part = await fetch(`${base}/${ids[1]}`, { headers: { Range: 'bytes=0-99' } });
    expect((await part.arrayBuffer()).byteLength).toBe(100);
    for (const id of ids) expect((await fetch(`${base}/${id}`, { method: 'DELETE' })).status).toBe(204);
    await eventually(async () => {
      const c = await counters();
      expect({
        totalUploadCount: c.totalUploadCount,
        successUploadCount: c.successUploadCount,
        successUploadBytes: c.successUploadBytes,
        totalDownloadCount: c.totalDownloadCount,
        successDownloadCount: c.successDownloadCount,
        successDownloadBytes: c.successDownloadBytes,
        totalDeleteCount: c.totalDeleteCount,
        successDeleteCount: c.successDeleteCount,
      }).toEqual({
        totalUploadCount: 2,
        successUploadCount: 2,
        successUploadBytes: small.length + big.length,
        totalDownloadCount: 5,
        successDownloadCount: 5,
        successDownloadBytes: 2 * (small.length + big.length) + 100,
        totalDeleteCount: 2,
        successDeleteCount: 2,
      });
    }, 15_000);
  }, 30_000);
});
