/**
 * Idle connections cannot starve `fdfs start` (issue 8, points 2 and 3): the gateway answers 503
 * beyond http.max_connections while /healthz still answers 200, one address holding its
 * max_connections_per_host of idle native connections leaves room for everyone else's uploads,
 * and connections that send nothing are closed after the header timeouts.
 */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fdBudget, parseProcLimits } from '../src/cli/fd-budget.js';
import { FdfsClient } from '../src/client/index.js';
import { defaultClientConfig } from '../src/config/index.js';
import { ConnectionGuard, listenError, perHostCap } from '../src/protocol/index.js';
import { eventually, type RunningNode, startNode } from './helpers/node-process.js';

const HTTP_CAP = 20;
const PER_HOST = 5;
const NATIVE_CAP = 20;

let capped: RunningNode;
let quick: RunningNode;
let client: FdfsClient;
const open: Socket[] = [];

/** A connected socket that sends nothing; `closed` settles when the server closes it. */
async function idle(port: number, localAddress = '127.0.0.1'): Promise<{ s: Socket; closed: Promise<void> }> {
  const s = connect({ port, host: '127.0.0.1', localAddress });
  open.push(s);
  s.on('error', () => {});
  s.resume();
  const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  return { s, closed };
}

/** True when `p` settles within `ms` (a generous deadline, not a measured time). */
function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    void p.then(() => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/** A GET on a fresh connection: status and headers as sent. */
function get(port: number, path: string): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.once('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  [capped, quick] = await Promise.all([
    startNode({
      args: [
        ...['--set', `http.max_connections=${HTTP_CAP}`, '--set', 'http.header_timeout=60'],
        ...['--set', `max_connections=${NATIVE_CAP}`, '--set', `max_connections_per_host=${PER_HOST}`],
        ...['--set', 'first_header_timeout=60'],
      ],
    }),
    startNode({
      args: [
        '--set',
        'http.header_timeout=1',
        '--set',
        'first_header_timeout=1',
        '--set',
        'network_timeout=60',
      ],
    }),
  ]);
  const conf = defaultClientConfig(new Map([['tracker_server', [`127.0.0.1:${capped.tracker.port}`]]]));
  client = new FdfsClient(conf.config);
  await eventually(() => client.upload(Buffer.from('warm-up')));
}, 60_000);

afterAll(async () => {
  for (const s of open) s.destroy();
  await client?.close();
  expect(await capped?.stop()).toBe(0);
  expect(await quick?.stop()).toBe(0);
});

describe('http.max_connections', () => {
  it('answers 503 with Retry-After beyond the cap, /healthz still 200, and serves again after', async () => {
    const held = [];
    for (let i = 0; i < HTTP_CAP; i++) held.push(await idle(capped.http.port));
    const over = await get(capped.http.port, '/');
    expect(over.status).toBe(503);
    expect(over.headers['retry-after']).toBe('1');
    expect(over.headers.connection).toBe('close');
    expect((await get(capped.http.port, '/healthz')).status).toBe(200);
    for (const h of held) h.s.destroy();
    await eventually(async () => expect((await get(capped.http.port, '/')).status).toBe(200));
  });
});

describe('max_connections_per_host on the native ports', () => {
  it('one address holding its cap of idle connections leaves room for an upload from another', async () => {
    const extra = NATIVE_CAP + 5;
    for (const port of [capped.tracker.port, capped.storage.port]) {
      let closed = 0;
      const held = [];
      for (let i = 0; i < extra; i++) {
        const h = await idle(port, '127.0.0.2');
        void h.closed.then(() => closed++);
        held.push(h);
      }
      // The server closes all but PER_HOST of them; the admitted ones stay open.
      await eventually(async () => expect(closed).toBe(extra - PER_HOST));
      expect(held.filter((h) => !h.s.destroyed).length).toBe(PER_HOST);
    }
    const id = await client.upload(Buffer.from('uploaded beside idle peers'), { ext: 'txt' });
    expect(id).toMatch(/^group1\/M00\//);
  }, 30_000);
});

describe('header timeouts', () => {
  it('closes an HTTP connection that sends nothing, or only part of its headers', async () => {
    const silent = await idle(quick.http.port);
    const partial = await idle(quick.http.port);
    partial.s.write('GET / HTTP/1.1\r\nHost: x\r\n');
    expect(await within(silent.closed, 15_000)).toBe(true);
    expect(await within(partial.closed, 15_000)).toBe(true);
  }, 40_000);

  it('closes tracker and storage connections that send no header', async () => {
    const tracker = await idle(quick.tracker.port);
    const storage = await idle(quick.storage.port);
    expect(await within(tracker.closed, 15_000)).toBe(true);
    expect(await within(storage.closed, 15_000)).toBe(true);
  }, 40_000);
});

describe('the pure parts', () => {
  it('ConnectionGuard: a total cap, a per-address cap, slots given back, refusals reported once', () => {
    const g = new ConnectionGuard({ maxConnections: 4, maxPerHost: 2 });
    expect([g.admit('a'), g.admit('a'), g.admit('a')]).toEqual([
      undefined,
      undefined,
      'max_connections_per_host',
    ]);
    expect([g.admit('b'), g.admit('c'), g.admit('d')]).toEqual([undefined, undefined, 'max_connections']);
    g.release('a');
    expect(g.admit('d')).toBeUndefined();
    expect(g.size).toBe(4);
    g.release('zz'); // never admitted: nothing to give back
    expect(g.size).toBe(4);
    expect(g.refusalsToReport(10_000)).toBe(2);
    g.admit('e');
    expect(g.refusalsToReport(10_500)).toBe(0); // within the second: held back
    expect(g.refusalsToReport(11_000)).toBe(1);
    expect(perHostCap({ maxConnections: 1024, maxPerHost: 0 })).toBe(512);
    expect(perHostCap({ maxConnections: 20, maxPerHost: 0 })).toBe(16);
    expect(perHostCap({ maxConnections: 8, maxPerHost: 0 })).toBe(8);
  });

  it('fdBudget: a reserve HTTP never gets, and no cap to fit under an unlimited limit', () => {
    expect(fdBudget(1024, { http: true, nativePorts: 2 })).toEqual({ http: 352, nativePerPort: 64 });
    expect(fdBudget(1024, { http: false, nativePorts: 1 })).toEqual({ http: 0, nativePerPort: 480 });
    expect(fdBudget(256, { http: true, nativePorts: 1 })).toEqual({ http: 64, nativePerPort: 32 });
    expect(fdBudget(Number.POSITIVE_INFINITY, { http: true, nativePorts: 2 }).http).toBe(
      Number.POSITIVE_INFINITY,
    );
    const text =
      'Max processes   1   1   processes\nMax open files            1024                 unlimited            files\n';
    expect(parseProcLimits(text)).toEqual({ soft: 1024, hard: Number.POSITIVE_INFINITY });
  });

  it('listenError: the errno of a failed listen, with the role and address', () => {
    const err = (code: string, errno: number) => Object.assign(new Error(code), { code, errno });
    const target = { role: 'storage', host: '10.9.9.9', port: 23000 };
    const na = listenError(err('EADDRNOTAVAIL', -99), target);
    expect([na.status, na.message]).toEqual([
      99,
      'storage cannot listen on 10.9.9.9:23000: the address is not one of this machine',
    ]);
    expect(listenError(err('EACCES', -13), { role: 'gateway', port: 80 }).status).toBe(13);
    expect(listenError(err('EPROTONOSUPPORT', -93), target).status).toBe(93);
  });
});
