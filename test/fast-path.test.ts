/**
 * The servers' fast path (FastHandler): complete small requests answered straight from the
 * socket's 'data' event. A storage answers whole downloads of cached files there, a tracker its
 * queries; everything else, and every failure, goes through the usual request loop. These tests
 * send several requests in one write, so fast and slow requests meet in one chunk, and check
 * that the answers come back complete, in order and never stale.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FdfsClient } from '../src/client/index.js';
import { Cmd, encodeDownload, GROUP_NAME_LEN, Status } from '../src/protocol/index.js';
import { eventually, type RunningNode, readyClient, startNode } from './helpers/node-process.js';
import { fixed, header, openRaw } from './helpers/raw-peer.js';

let node: RunningNode;
let client: FdfsClient;

beforeAll(async () => {
  node = await startNode({
    args: [
      '--set',
      'stat_report_interval=1',
      '--set',
      'heart_beat_interval=1',
      '--set',
      'cache_revalidate=1h',
    ],
  });
  client = await readyClient(node);
}, 60_000);

afterAll(async () => {
  await client?.close();
  expect(await node?.stop()).toBe(0);
});

const downloadCount = async () =>
  (await client.listStorages('group1'))[0]?.counters.successDownloadCount ?? 0;

/** The download count once earlier downloads have all been reported (counters go out every second). */
async function settledCount(): Promise<number> {
  let last = await downloadCount();
  for (;;) {
    await new Promise((r) => setTimeout(r, 1500));
    const now = await downloadCount();
    if (now === last) return now;
    last = now;
  }
}

const remoteOf = (id: string) => id.slice(id.indexOf('/') + 1);

function download(id: string, offset = 0, length = 0): Buffer {
  const body = encodeDownload({ offset, length, group: 'group1', remote: remoteOf(id) });
  return Buffer.concat([header(body.length, Cmd.DOWNLOAD_FILE), body]);
}

function packet(cmd: number, body: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([header(body.length, cmd), body]);
}

/** Reads `count` reply packets (header + body) off `sock`, in order. */
function replies(sock: Socket, count: number): Promise<{ status: number; body: Buffer }[]> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const out: { status: number; body: Buffer }[] = [];
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 10) {
        const len = Number(buf.readBigInt64BE(0));
        if (buf.length < 10 + len) break;
        out.push({ status: buf[9] as number, body: buf.subarray(10, 10 + len) });
        buf = buf.subarray(10 + len);
      }
      if (out.length >= count) {
        sock.off('data', onData);
        resolve(out);
      }
    };
    sock.on('data', onData);
    sock.once('close', () => reject(new Error(`closed after ${out.length} of ${count} replies`)));
  });
}

const storageSocket = (): Promise<Socket> => openRaw(node.storage.host, node.storage.port);

it('answers downloads sent in one write in order: cached, ranges, misses and failures mixed', async () => {
  const a = randomBytes(4096);
  const b = randomBytes(100 * 1024);
  const ida = await client.upload(a, { ext: 'bin' });
  const idb = await client.upload(b, { ext: 'bin' });
  expect(await client.downloadBuffer(ida)).toEqual(a); // now cached
  const missing = `group1/${remoteOf(ida).replace(/^(.*\/)(.)/, (_, dir: string, c: string) => dir + (c === 'A' ? 'B' : 'A'))}`;
  const sock = await storageSocket();
  const got = replies(sock, 8);
  sock.write(
    Buffer.concat([
      download(ida),
      download(ida, 5, 10),
      download(idb), // not cached yet: read from disk, then kept
      download(ida),
      download(missing),
      download(idb),
      download(ida, 4000), // to the end
      download(ida),
    ]),
  );
  const r = await got;
  sock.destroy();
  expect(r.map((x) => x.status)).toEqual([0, 0, 0, 0, Status.ENOENT, 0, 0, 0]);
  expect(r[0]?.body).toEqual(a);
  expect(r[1]?.body).toEqual(a.subarray(5, 15));
  expect(r[2]?.body).toEqual(b);
  expect(r[3]?.body).toEqual(a);
  expect(r[4]?.body.length).toBe(0);
  expect(r[5]?.body).toEqual(b);
  expect(r[6]?.body).toEqual(a.subarray(4000));
  expect(r[7]?.body).toEqual(a);
}, 30_000);

it('never serves a cached file after it was deleted or appended to', async () => {
  const id = await client.upload(Buffer.from('first version'), { ext: 'txt' });
  const app = await client.upload(Buffer.from('head;'), { ext: 'txt', appender: true });
  for (let i = 0; i < 2; i++) {
    expect((await client.downloadBuffer(id)).toString()).toBe('first version');
    expect((await client.downloadBuffer(app)).toString()).toBe('head;');
  }
  await client.delete(id);
  await client.append(app, Buffer.from('tail'));
  const sock = await storageSocket();
  const got = replies(sock, 2);
  sock.write(Buffer.concat([download(id), download(app)]));
  const r = await got;
  sock.destroy();
  expect(r[0]?.status).toBe(Status.ENOENT);
  expect(r[1]?.status).toBe(0);
  expect(r[1]?.body.toString()).toBe('head;tail');
}, 30_000);

it('counts downloads answered from the cache in the storage counters', async () => {
  const id = await client.upload(randomBytes(1000), { ext: 'bin' });
  await client.downloadBuffer(id); // fills the cache
  const before = await settledCount();
  const sock = await storageSocket();
  const got = replies(sock, 5);
  sock.write(Buffer.concat(Array.from({ length: 5 }, () => download(id))));
  expect((await got).every((x) => x.status === 0 && x.body.length === 1000)).toBe(true);
  sock.destroy();
  await eventually(async () => expect((await downloadCount()) - before).toBe(5), 10_000);
}, 30_000);

it('stops answering cached downloads to a client that does not read, and answers the rest once it does', async () => {
  const size = 200 * 1024; // cached (cache_max_file_size is 256 KB)
  const id = await client.upload(Buffer.alloc(size, 9), { ext: 'bin' });
  await client.downloadBuffer(id);
  const before = await settledCount();
  const requests = 100;
  const sock = await storageSocket();
  sock.pause();
  sock.write(Buffer.concat(Array.from({ length: requests }, () => download(id))));
  await new Promise((r) => setTimeout(r, 3000)); // counters are reported every second
  expect((await downloadCount()) - before).toBeLessThan(requests / 2);
  let got = 0;
  sock.on('data', (c: Buffer) => {
    got += c.length;
  });
  sock.resume();
  await eventually(async () => expect(got).toBe(requests * (10 + size)), 30_000);
  sock.destroy();
}, 30_000);

it('answers tracker queries sent in one write in order, a failing one with its status', async () => {
  const id = await client.upload(Buffer.from('where am I'), { ext: 'txt' });
  const fetch = (group: string, remote: string) =>
    packet(Cmd.QUERY_FETCH_ONE, Buffer.concat([fixed(group, GROUP_NAME_LEN), Buffer.from(remote)]));
  const sock = await openRaw(node.tracker.host, node.tracker.port);
  const got = replies(sock, 5);
  sock.write(
    Buffer.concat([
      fetch('group1', remoteOf(id)),
      packet(Cmd.QUERY_STORE_WITHOUT_GROUP_ONE),
      fetch('nogroup', remoteOf(id)),
      packet(Cmd.QUERY_STORE_WITH_GROUP_ONE, fixed('group1', GROUP_NAME_LEN)),
      fetch('group1', remoteOf(id)),
    ]),
  );
  const r = await got;
  sock.destroy();
  expect(r.map((x) => x.status)).toEqual([0, 0, Status.ENOENT, 0, 0]);
  // fetch: group[16] ip[15] port(8); store: the same and a store path index (1)
  expect(r.map((x) => x.body.length)).toEqual([39, 40, 0, 40, 39]);
  for (const x of [r[0], r[1], r[3], r[4]]) expect(x?.body.subarray(0, 6).toString()).toBe('group1');
}, 30_000);
