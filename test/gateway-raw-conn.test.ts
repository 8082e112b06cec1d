/**
 * The gateway's raw keep-alive connections (src/gateway/raw-conn.ts) on a real `fdfs start`:
 * GETs and HEADs of file URLs answered on the socket, and every other request — in the same
 * write, on the same connection — handed with its bytes to node:http. The answers must come back
 * complete, in order and the same as node:http's; nothing the head reader is unsure of may be
 * answered by it (a body that looks like a request stays a body).
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FdfsClient } from '../src/client/index.js';
import { type RunningNode, readyClient, startNode } from './helpers/node-process.js';

let node: RunningNode;
let client: FdfsClient;
let host: string;
let small: { id: string; data: Buffer };
let large: { id: string; data: Buffer };

beforeAll(async () => {
  node = await startNode();
  client = await readyClient(node);
  host = `${node.http.host}:${node.http.port}`;
  const a = randomBytes(4096);
  const b = randomBytes(300 * 1024); // past SENDFILE_MIN and the cache's size limit
  small = { id: await client.upload(a, { ext: 'jpg' }), data: a };
  large = { id: await client.upload(b, { ext: 'bin' }), data: b };
}, 60_000);

afterAll(async () => {
  await client?.close();
  expect(await node?.stop()).toBe(0);
});

interface Reply {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

/** A connection and a reader of the answers on it (Content-Length or chunked bodies). */
function open(): Promise<{ sock: Socket; next(head?: boolean): Promise<Reply>; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const sock = connect(node.http.port, node.http.host);
    let buf = Buffer.alloc(0);
    let wake: (() => void) | undefined;
    let ended = false;
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      wake?.();
    });
    sock.on('close', () => {
      ended = true;
      wake?.();
    });
    const more = () =>
      new Promise<void>((r, j) => {
        if (ended) j(new Error(`connection closed with ${buf.length} bytes unread`));
        wake = () => {
          wake = undefined;
          r();
        };
      });
    /** Offset of `text` in what has arrived, waiting for more until it is there. */
    async function find(text: string): Promise<number> {
      for (;;) {
        const at = buf.indexOf(text);
        if (at >= 0) return at;
        await more();
      }
    }
    async function next(head = false): Promise<Reply> {
      const end = await find('\r\n\r\n');
      const lines = buf.toString('latin1', 0, end).split('\r\n');
      const status = Number((lines[0] as string).split(' ')[1]);
      const headers = new Map<string, string>();
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        headers.set(l.slice(0, i).toLowerCase(), l.slice(i + 1).trim());
      }
      buf = buf.subarray(end + 4);
      if (head || status === 304) return { status, headers, body: Buffer.alloc(0) };
      if (headers.get('transfer-encoding') === 'chunked') {
        const parts: Buffer[] = [];
        for (;;) {
          const eol = await find('\r\n');
          const size = Number.parseInt(buf.toString('latin1', 0, eol), 16);
          while (buf.length < eol + 2 + size + 2) await more();
          parts.push(Buffer.from(buf.subarray(eol + 2, eol + 2 + size)));
          buf = buf.subarray(eol + 2 + size + 2);
          if (size === 0) return { status, headers, body: Buffer.concat(parts) };
        }
      }
      const length = Number(headers.get('content-length') ?? 0);
      while (buf.length < length) await more();
      const body = Buffer.from(buf.subarray(0, length));
      buf = buf.subarray(length);
      return { status, headers, body };
    }
    sock.once('connect', () => resolve({ sock, next, closed }));
    sock.once('error', reject);
  });
}

/**
 * The gateway's connection counters (raw, node, handed over) from /metrics, read on a connection
 * of its own: it counts as one raw connection handed over (its request is no file GET).
 */
async function connections(): Promise<{ raw: number; node: number; handedOver: number }> {
  const c = await open();
  c.sock.write(get('/metrics'));
  const text = (await c.next()).body.toString();
  c.sock.destroy();
  const n = (re: RegExp) => Number(re.exec(text)?.[1] ?? Number.NaN);
  return {
    raw: n(/^fdfs_http_connections_total\{path="raw"\} (\d+)$/m),
    node: n(/^fdfs_http_connections_total\{path="node"\} (\d+)$/m),
    handedOver: n(/^fdfs_http_connections_handed_over_total (\d+)$/m),
  };
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`;

describe('raw keep-alive connections', () => {
  it('answers fast, slow and other requests sent in one write complete and in order', async () => {
    const before = await connections();
    const c = await open();
    const upload = 'hello from the same connection';
    c.sock.write(
      get(`/${small.id}`) + // warms the cache: the full path
        get(`/${small.id}`) + // from the cache
        get(`/${large.id}`, 'Range: bytes=1000-1999\r\n') +
        `HEAD /${small.id} HTTP/1.1\r\nHost: ${host}\r\n\r\n` +
        get(`/${large.id}`) + // sendfile
        get('/group1/M00/00/00/wKgAAWZZZZZAAAAAAAAAAAAAAAA000.jpg') + // no such file
        `PUT /upload/same-conn.txt HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${upload.length}\r\n\r\n${upload}` +
        get(`/${small.id}`), // after the hand-over: node:http
    );
    const r = [
      await c.next(),
      await c.next(),
      await c.next(),
      await c.next(true),
      await c.next(),
      await c.next(),
      await c.next(),
      await c.next(),
    ];
    expect(r.map((x) => x.status)).toEqual([200, 200, 206, 200, 200, 404, 200, 200]);
    expect(r[0]?.body.equals(small.data)).toBe(true);
    expect(r[1]?.body.equals(small.data)).toBe(true);
    expect(r[2]?.body.equals(large.data.subarray(1000, 2000))).toBe(true);
    expect(r[3]?.headers.get('content-length')).toBe('4096');
    expect(r[4]?.body.equals(large.data)).toBe(true);
    expect(JSON.parse(r[5]?.body.toString() ?? '')).toMatchObject({ error: { code: 'FDFS_ERR_ENOENT' } });
    const stored = JSON.parse(r[6]?.body.toString() ?? '') as { fileId: string };
    expect(r[7]?.body.equals(small.data)).toBe(true);
    expect((await client.downloadBuffer(stored.fileId)).toString()).toBe(upload);
    c.sock.destroy();
    // This connection started raw and was handed over by the PUT (+1 each: reading the counters).
    const after = await connections();
    expect(after).toEqual({ raw: before.raw + 2, node: before.node, handedOver: before.handedOver + 2 });
  });

  it('sends the headers node:http sends for the same answer', async () => {
    const viaNode = await open();
    // Connection: close is node:http's to honour: the raw reader hands it over.
    viaNode.sock.write(get(`/${small.id}`, 'Connection: close\r\n'));
    const a = await viaNode.next();
    await viaNode.closed;
    const raw = await open();
    raw.sock.write(get(`/${small.id}`));
    const b = await raw.next();
    raw.sock.destroy();
    expect(a.body.equals(small.data) && b.body.equals(small.data)).toBe(true);
    expect(b.headers.get('connection')).toBe('keep-alive');
    expect(b.headers.get('keep-alive')).toMatch(/^timeout=\d+$/);
    const same = (m: Map<string, string>) => {
      const o = Object.fromEntries(m);
      for (const k of ['connection', 'keep-alive', 'date']) delete o[k];
      return o;
    };
    expect(same(b.headers)).toEqual(same(a.headers));
    expect(Date.parse(b.headers.get('date') ?? '')).toBeGreaterThan(Date.now() - 60_000);
  });

  it('never reads a body as a request: bodies and unsure heads go to node:http', async () => {
    const smuggled = get(`/${small.id}`);
    const cases = [
      // A GET with a body that is itself a request: one answer (or a refusal), never two.
      `GET /${small.id} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
      `GET /${small.id} HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\n${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`,
    ];
    for (const bytes of cases) {
      const c = await open();
      c.sock.write(bytes);
      const first = await c.next();
      expect([200, 400]).toContain(first.status);
      // Give any second answer time to arrive, then check none did.
      await new Promise((r) => setTimeout(r, 300));
      c.sock.write(get('/healthz'));
      const second = await c.next().catch(() => undefined);
      if (second !== undefined) {
        expect(second.status).toBe(200);
        expect(second.body.equals(small.data)).toBe(false); // the health check's, not the file
      }
      c.sock.destroy();
    }
    // Heads node:http refuses are refused, not answered from a guess.
    for (const bad of [
      `GET /${small.id} HTTP/1.1\nHost: ${host}\n\n`,
      `GET /${small.id} HTTP/1.1\r\nHost: ${host}\r\nX-A: b\r\n c\r\n\r\n`,
      `GET /${small.id} HTTP/1.1\r\n\r\n`,
    ]) {
      const c = await open();
      c.sock.write(bad);
      const r = await c.next();
      expect(r.status, JSON.stringify(bad)).toBe(400);
      c.sock.destroy();
    }
  });

  it('takes a head split across writes, HTTP/1.0 and half-closing clients', async () => {
    const pause = () => new Promise((r) => setTimeout(r, 50));
    const before = await connections();
    const c = await open();
    const whole = get(`/${small.id}`);
    c.sock.write(whole.slice(0, 20));
    await pause();
    // The rest, a whole request and the start of a third: all answered on the raw path.
    c.sock.write(whole.slice(20) + whole + whole.slice(0, 30));
    expect((await c.next()).body.equals(small.data)).toBe(true);
    expect((await c.next()).body.equals(small.data)).toBe(true);
    await pause();
    c.sock.write(whole.slice(30));
    expect((await c.next()).body.equals(small.data)).toBe(true);
    // Still raw: the only hand-over is the counters' own /metrics connection (+1 per reading).
    expect(await connections()).toEqual({
      ...before,
      raw: before.raw + 2,
      handedOver: before.handedOver + 1,
    });
    // A head that trickles in over more reads goes to node:http, and is still answered there.
    for (let i = 0; i < whole.length; i += 8) {
      c.sock.write(whole.slice(i, i + 8));
      await pause();
    }
    expect((await c.next()).body.equals(small.data)).toBe(true);
    expect((await connections()).handedOver).toBe(before.handedOver + 3);
    c.sock.destroy();

    const old = await open();
    old.sock.write(`GET /${small.id} HTTP/1.0\r\n\r\n`);
    expect((await old.next()).body.equals(small.data)).toBe(true);
    await old.closed;

    // Three requests and a FIN: three whole answers, then the server closes.
    const half = await open();
    half.sock.end(get(`/${small.id}`) + get(`/${large.id}`) + get(`/${small.id}`));
    expect((await half.next()).body.equals(small.data)).toBe(true);
    expect((await half.next()).body.equals(large.data)).toBe(true);
    expect((await half.next()).body.equals(small.data)).toBe(true);
    await half.closed;

    // A FIN after a slow answer and a request node:http must take: both answered, then closed.
    const late = await open();
    late.sock.end(get(`/${large.id}`) + get('/metrics'));
    expect((await late.next()).body.equals(large.data)).toBe(true);
    expect((await late.next()).status).toBe(200);
    await late.closed;

    // An upload and a FIN together: node:http takes it before the FIN and must still answer.
    const put = await open();
    const text = 'sent with a FIN';
    put.sock.end(
      `PUT /upload/fin.txt HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${text.length}\r\n\r\n${text}`,
    );
    const stored = await put.next();
    expect(stored.status).toBe(200);
    const { fileId } = JSON.parse(stored.body.toString()) as { fileId: string };
    expect((await client.downloadBuffer(fileId)).toString()).toBe(text);
    await put.closed;
  });

  it('stops reading a client that does not read its answers, serves others, then catches up', async () => {
    const c = await open();
    c.sock.pause();
    const n = 3000; // ~12 MB of answers, far past the socket's buffers
    c.sock.write(get(`/${small.id}`).repeat(n));
    await new Promise((r) => setTimeout(r, 500));
    const other = await open();
    other.sock.write(get(`/${small.id}`));
    expect((await other.next()).body.equals(small.data)).toBe(true);
    other.sock.destroy();
    c.sock.resume();
    for (let i = 0; i < n; i++) {
      const r = await c.next();
      if (!r.body.equals(small.data)) throw new Error(`answer ${i} is not the file`);
    }
    c.sock.destroy();
  }, 60_000);

  it('closes a keep-alive connection left idle', async () => {
    const before = await connections();
    const c = await open();
    c.sock.write(get(`/${small.id}`));
    expect((await c.next()).status).toBe(200);
    // Kept alive between requests: a second one on the same connection is answered.
    c.sock.write(get(`/${small.id}`));
    expect((await c.next()).body.equals(small.data)).toBe(true);
    // Then left idle: the server ends it (node:http's keepAliveTimeout; the test never does).
    await c.closed;
    // It stayed raw to the end (+1 each: reading the counters).
    const after = await connections();
    expect(after).toEqual({ raw: before.raw + 2, node: before.node, handedOver: before.handedOver + 1 });
  }, 20_000);
});
