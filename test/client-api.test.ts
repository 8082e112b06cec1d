/**
 * The client as Node apps use it (issue 13): built from `{ trackers }` or a conf path, bodies from
 * a path, a Buffer or a Readable with its size, and an AbortSignal and a timeout on every call —
 * against a real `fdfs start` and, for the silent-peer cases, a raw TCP server that never answers.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FdfsClient } from '../src/client/index.js';
import { FdfsError } from '../src/common/index.js';
import { eventually, type RunningNode, startNode } from './helpers/node-process.js';
import { storedNames, tempNames } from './helpers/stored.js';

const ROOT = resolve(import.meta.dirname, '..');
let node: RunningNode;
let client: FdfsClient;
let tracker: string;

const bytes = (n: number, seed = 3) =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));

async function rejection(p: Promise<unknown>): Promise<FdfsError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FdfsError);
  return err as FdfsError;
}

/** A TCP server that accepts and never answers, counting connections and their closes. */
async function silentPeer(): Promise<{ server: Server; address: string; opened: number; closed: number }> {
  const peer = { server: createServer(), address: '', opened: 0, closed: 0 };
  const sockets = new Set<Socket>();
  peer.server.on('connection', (s) => {
    peer.opened++;
    sockets.add(s);
    s.on('close', () => {
      peer.closed++;
      sockets.delete(s);
    });
    s.on('error', () => {});
    // Flowing, so the client's close is read and 'close' fires.
    s.resume();
  });
  peer.server.on('close', () => {
    for (const s of sockets) s.destroy();
  });
  await new Promise<void>((r) => peer.server.listen(0, '127.0.0.1', r));
  const a = peer.server.address();
  peer.address = typeof a === 'object' && a ? `127.0.0.1:${a.port}` : '';
  return peer;
}

beforeAll(async () => {
  node = await startNode();
  tracker = `${node.tracker.host}:${node.tracker.port}`;
  client = new FdfsClient({ trackers: [tracker] });
  await eventually(() => client.upload(Buffer.from('warm-up')));
}, 30_000);

afterAll(async () => {
  await client?.close();
  expect(await node?.stop()).toBe(0);
});

describe('FdfsClient({ trackers }) against fdfs start', () => {
  it('uploads a Buffer, a path and a Readable with its size; downloads, reads metadata, deletes', async () => {
    const data = bytes(70_000);
    const a = await client.upload(data, { ext: 'png', metadata: { author: 'me' }, group: 'group1' });
    expect(a).toMatch(/^group1\/M00\/.+\.png$/);
    const path = join(node.base, 'local.txt');
    await writeFile(path, data);
    const b = await client.upload(path);
    expect(b.endsWith('.txt')).toBe(true);
    const c = await client.upload(Readable.from([data.subarray(0, 1000), data.subarray(1000)]), {
      size: data.length,
      ext: '.bin',
    });
    expect(c.endsWith('.bin')).toBe(true);
    for (const id of [a, b, c]) expect((await client.downloadBuffer(id)).equals(data)).toBe(true);
    const chunks: Buffer[] = [];
    for await (const chunk of await client.download(a, { offset: 10, length: 20 })) chunks.push(chunk);
    expect(Buffer.concat(chunks).equals(data.subarray(10, 30))).toBe(true);
    expect(await client.getMetadata(a)).toEqual({ author: 'me' });
    await client.setMetadata(a, { w: '1' }, { mode: 'merge' });
    expect(await client.getMetadata(a)).toEqual({ author: 'me', w: '1' });
    for (const id of [a, b, c]) await client.delete(id);
    const gone = await rejection(client.fileInfo(a, { fromServer: true }));
    expect(gone.code).toBe('FDFS_ERR_ENOENT');
  });

  it('reads a client.conf with fromConf, its keys overridable', async () => {
    const conf = join(node.base, 'client.conf');
    await writeFile(conf, 'base_path = /tmp\ntracker_server = 127.0.0.1:1\n');
    const c = await FdfsClient.fromConf(conf, { tracker_server: tracker });
    try {
      const id = await c.upload(Buffer.from('conf'), { ext: 'txt' });
      expect((await c.downloadBuffer(id)).toString()).toBe('conf');
      await c.delete(id);
    } finally {
      await c.close();
    }
  });

  it('refuses a stream without its size, and bad options, before any I/O', async () => {
    const e = await rejection(client.upload(Readable.from([Buffer.from('x')])));
    expect(e.code).toBe('FDFS_ERR_EINVAL');
    expect(e.message).toMatch(/needs its size/);
    expect(() => new FdfsClient({ trackers: [] })).toThrow(/at least one tracker/);
    expect(() => new FdfsClient({ trackers: ['not a host:x'] })).toThrow(FdfsError);
    expect(() => new FdfsClient({ trackers: [tracker], timeout: -1 })).toThrow(/timeout/);
    expect((await rejection(client.delete('group1/M00/00/00/x.txt', { timeout: 0 }))).code).toBe(
      'FDFS_ERR_EINVAL',
    );
  });

  it('an abort mid-upload rejects with ECANCELED and leaves nothing stored', async () => {
    const before = await storedNames(node.base);
    const ctl = new AbortController();
    let sent = 0;
    // 64 KB at once, then nothing: the storage holds a temp file and waits for the rest.
    const body = new Readable({
      read() {
        if (sent === 0) this.push(bytes(65_536));
        sent++;
      },
    });
    const upload = client.upload(body, { size: 1_000_000, ext: 'bin', signal: ctl.signal });
    await eventually(async () => {
      if ((await tempNames(node.base)).length === 0) throw new Error('no temp file yet');
    });
    ctl.abort();
    const err = await rejection(upload);
    expect(err.code).toBe('FDFS_ERR_ECANCELED');
    expect(err.message).toBe('upload: aborted');
    expect(body.destroyed).toBe(true);
    await eventually(async () => {
      if ((await tempNames(node.base)).length > 0) throw new Error('temp file still there');
    });
    expect(await storedNames(node.base)).toEqual(before);
    expect(client.pool.stats.active).toBe(0);
  });

  it('an abort mid-download ends the stream with ECANCELED and drops its connection', async () => {
    const id = await client.upload(bytes(2_000_000), { ext: 'bin' });
    const ctl = new AbortController();
    const stream = await client.download(id, { signal: ctl.signal });
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    ctl.abort();
    const err = await rejection(
      (async () => {
        for (;;) if ((await it.next()).done) return;
      })(),
    );
    expect(err.code).toBe('FDFS_ERR_ECANCELED');
    expect(err.fileId).toBe(id);
    await eventually(async () => expect(client.pool.stats.active).toBe(0));
    // The client still works after a dropped connection.
    expect((await client.downloadBuffer(id, { length: 3 })).length).toBe(3);
    await client.delete(id);
  });

  it('Symbol.asyncDispose closes the client', async () => {
    const c = new FdfsClient({ trackers: [tracker] });
    await c.listGroups();
    expect(c.pool.stats.idle).toBeGreaterThan(0);
    await c[Symbol.asyncDispose]();
    expect(c.pool.stats.idle).toBe(0);
    expect((await rejection(c.listGroups())).message).toMatch(/pool is closed/);
  });
});

describe('timeouts and aborts against a tracker that never answers', () => {
  it('a per-call timeout rejects with ETIMEDOUT long before network_timeout and drops the link', async () => {
    const peer = await silentPeer();
    const c = new FdfsClient({ trackers: [peer.address], networkTimeout: 600_000 });
    try {
      const err = await rejection(c.upload(Buffer.from('x'), { timeout: 200 }));
      expect(err.code).toBe('FDFS_ERR_ETIMEDOUT');
      expect(err.message).toBe('upload: timed out after 200 ms');
      await eventually(async () => expect(peer.closed).toBe(1));
      // The client-wide default applies to calls without their own.
      const d = new FdfsClient({ trackers: [peer.address], networkTimeout: 600_000, timeout: 150 });
      const e2 = await rejection(d.listGroups());
      expect(e2.message).toBe('list groups: timed out after 150 ms');
      await d.close();
    } finally {
      await c.close();
      peer.server.close();
    }
  });

  it('an AbortSignal ends a waiting call with ECANCELED; an aborted one never connects', async () => {
    const peer = await silentPeer();
    const c = new FdfsClient({ trackers: [peer.address], networkTimeout: 600_000 });
    try {
      const ctl = new AbortController();
      const pending = c.getMetadata('group1/M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png', {
        signal: ctl.signal,
      });
      await eventually(async () => expect(peer.opened).toBe(1));
      ctl.abort(new Error('user left'));
      const err = await rejection(pending);
      expect(err.code).toBe('FDFS_ERR_ECANCELED');
      expect((err.cause as Error).message).toBe('user left');
      await eventually(async () => expect(peer.closed).toBe(1));
      const late = await rejection(c.delete('group1/M00/00/00/x.txt', { signal: AbortSignal.abort() }));
      expect(late.code).toBe('FDFS_ERR_ECANCELED');
      // AbortSignal.timeout() counts as a timeout.
      const t = await rejection(c.listGroups({ signal: AbortSignal.timeout(100) }));
      expect(t.code).toBe('FDFS_ERR_ETIMEDOUT');
      expect(peer.opened).toBe(2);
    } finally {
      await c.close();
      peer.server.close();
    }
  });
});

describe('a script using the client', () => {
  it('exits on its own after its work, without close(): idle pooled sockets do not hold it', async () => {
    const code = `
      import { FdfsClient } from ${JSON.stringify(resolve(ROOT, 'dist/src/client/index.js'))};
      const client = new FdfsClient({ trackers: [process.env.TRACKER] });
      const id = await client.upload(Buffer.from('bye'), { ext: 'txt' });
      console.log((await client.downloadBuffer(id)).toString());
      await client.delete(id);
    `;
    const r = await new Promise<{ code: number | null; out: string; hung: boolean }>((res) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
        env: { ...process.env, TRACKER: tracker },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      let hung = false;
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
      });
      // A guard, not a timing assertion: a script kept alive by the pool is the failure looked for.
      const guard = setTimeout(() => {
        hung = true;
        child.kill('SIGKILL');
      }, 20_000);
      child.once('close', (c) => {
        clearTimeout(guard);
        res({ code: c, out, hung });
      });
    });
    expect(r.hung).toBe(false);
    expect(r.out).toBe('bye\n');
    expect(r.code).toBe(0);
  }, 40_000);
});
