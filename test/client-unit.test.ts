/** Client against scripted raw-TCP trackers and storages that answer exact bytes. */

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionPool, FdfsClient } from '../src/client/index.js';
import type { ClientConfig, HostPort } from '../src/config/types.js';
import {
  Cmd,
  encodeGroupStat,
  encodeStorageStat,
  FdfsError,
  FrameReader,
  type GroupStat,
  packMetadata,
} from '../src/protocol/index.js';
import { storageStat } from './helpers/fixtures.js';
import { deadAddress, fixed, header, int64 } from './helpers/raw-peer.js';

const REMOTE = 'M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png';
const FILE_ID = `group1/${REMOTE}`;
const APPENDER = 'M00/00/00/wKgAZWHAQjiEAm4PAAAAAEJhBgk569.txt';

interface Req {
  readonly cmd: number;
  readonly status: number;
  readonly body: Buffer;
  readonly conn: number;
}
/**
 * Bytes to write, a list of chunks written one tick apart, 'close' to drop the socket instead of
 * answering, 'silent' to never answer, or an answer followed by closing the socket.
 */
type Reply =
  | Buffer
  | Buffer[]
  | 'close'
  | 'silent'
  | { readonly write: Buffer | Buffer[]; readonly thenClose: true };

interface Fake {
  readonly host: string;
  readonly port: number;
  readonly requests: Req[];
  readonly accepted: () => number;
  readonly closedSockets: () => number;
  readonly hp: HostPort;
}

const servers: Server[] = [];
const sockets = new Set<Socket>();
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  for (const sock of sockets) sock.destroy();
  sockets.clear();
  for (const s of servers.splice(0)) {
    await new Promise<void>((r) => s.close(() => r()));
  }
});

function resp(body: Buffer = Buffer.alloc(0), status = 0, cmd = 100): Buffer {
  return Buffer.concat([header(body.length, cmd, status), body]);
}

/** A server that reads whole packets and answers each with what `script` returns. */
async function fake(script: (req: Req) => Reply, host = '127.0.0.1', port = 0): Promise<Fake> {
  const requests: Req[] = [];
  let accepted = 0;
  let closed = 0;
  const server = createServer((sock: Socket) => {
    const conn = ++accepted;
    sockets.add(sock);
    sock.on('close', () => closed++);
    sock.on('error', () => {});
    void (async () => {
      const reader = new FrameReader(sock);
      try {
        for (;;) {
          const h = await reader.readHeader();
          if (!h || h.cmd === Cmd.QUIT) break;
          const req = { cmd: h.cmd, status: h.status, body: await reader.readBody(h.length, 1 << 30), conn };
          requests.push(req);
          const reply = script(req);
          if (reply === 'close') break;
          if (reply === 'silent') continue;
          const parts = Buffer.isBuffer(reply)
            ? [reply]
            : Array.isArray(reply)
              ? reply
              : [reply.write].flat();
          for (const part of parts) {
            sock.write(part);
            if (parts.length > 1) await new Promise((r) => setImmediate(r));
          }
          if (!Buffer.isBuffer(reply) && !Array.isArray(reply)) break;
        }
      } catch {
        // the client dropped the link; nothing to answer
      }
      sock.destroy();
    })();
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(port, host, () => r()));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  return {
    host,
    port: addr.port,
    requests,
    accepted: () => accepted,
    closedSockets: () => closed,
    hp: { host, port: addr.port },
  };
}

function config(trackers: HostPort[], pool = true): ClientConfig {
  return {
    connectTimeout: 2000,
    networkTimeout: 5000,
    basePath: '',
    trackerServers: trackers,
    useConnectionPool: pool,
    connectionPoolMaxIdleTime: 60_000,
    logLevel: 'info',
  };
}

function client(trackers: HostPort[], pool = true): FdfsClient {
  const c = new FdfsClient(config(trackers, pool));
  cleanups.push(() => c.close());
  return c;
}

/** 40-byte store-one reply, built by hand from §3.2. */
function storeOne(group: string, ip: string, port: number, pathIndex: number): Buffer {
  return Buffer.concat([fixed(group, 16), fixed(ip, 15), int64(port), Buffer.from([pathIndex])]);
}

/** 39-byte fetch-one reply; extra IPs make the classic fetch-all form. */
function fetchReply(group: string, ip: string, port: number, ...more: string[]): Buffer {
  return Buffer.concat([fixed(group, 16), fixed(ip, 15), int64(port), ...more.map((m) => fixed(m, 15))]);
}

function uploadReply(group: string, remote: string): Buffer {
  return Buffer.concat([fixed(group, 16), Buffer.from(remote)]);
}

/** A tracker that sends every file query to `storage`. */
function trackerFor(storage: Fake) {
  return fake((req) => {
    if (req.cmd === Cmd.QUERY_STORE_WITHOUT_GROUP_ONE || req.cmd === Cmd.QUERY_STORE_WITH_GROUP_ONE) {
      return resp(storeOne('group1', storage.host, storage.port, 3));
    }
    return resp(fetchReply('group1', storage.host, storage.port));
  });
}

async function rejection(p: Promise<unknown>): Promise<FdfsError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FdfsError);
  return err as FdfsError;
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
}

describe('upload', () => {
  it('asks the tracker (101) and sends 11 with its store path index, size, ext and content', async () => {
    const storage = await fake(() => resp(uploadReply('group1', REMOTE)));
    const tracker = await trackerFor(storage);
    const id = await client([tracker.hp]).upload(Buffer.from('hello'), { ext: 'txt' });
    expect(id).toBe(FILE_ID);
    expect(tracker.requests.map((r) => [r.cmd, r.body.length])).toEqual([[101, 0]]);
    const [up] = storage.requests;
    expect(up?.cmd).toBe(Cmd.UPLOAD_FILE);
    expect(up?.body).toEqual(
      Buffer.concat([Buffer.from([3]), int64(5), fixed('txt', 6), Buffer.from('hello')]),
    );
  });

  it('uses 104 for a group, 23 for appenders, the path extension and sized streams', async () => {
    const storage = await fake(() => resp(uploadReply('group2', REMOTE)));
    const tracker = await trackerFor(storage);
    const c = client([tracker.hp]);
    const dir = await mkdtemp(join(tmpdir(), 'fdfs-client-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'photo.jpeg');
    await writeFile(path, 'from disk');
    await c.upload(path, { group: 'group2', appender: true });
    await c.upload(
      { stream: Readable.from([Buffer.from('ab'), Buffer.from('cde')]), size: 5 },
      { ext: '.gz' },
    );
    await c.upload(join(dir, 'photo.jpeg'), { ext: '' });
    expect(tracker.requests[0]?.cmd).toBe(Cmd.QUERY_STORE_WITH_GROUP_ONE);
    expect(tracker.requests[0]?.body).toEqual(fixed('group2', 16));
    const [a, b, c3] = storage.requests;
    expect(a?.cmd).toBe(Cmd.UPLOAD_APPENDER_FILE);
    expect(a?.body.subarray(1)).toEqual(
      Buffer.concat([int64(9), fixed('jpeg', 6), Buffer.from('from disk')]),
    );
    expect(b?.body.subarray(9)).toEqual(Buffer.concat([fixed('gz', 6), Buffer.from('abcde')]));
    expect(c3?.body.subarray(9, 15)).toEqual(Buffer.alloc(6));
    expect(storage.accepted()).toBe(1);
  });

  it('sets metadata with O after the upload, and deletes the file when that fails', async () => {
    let failMeta = false;
    const storage = await fake((req) => {
      if (req.cmd === Cmd.UPLOAD_FILE) return resp(uploadReply('group1', REMOTE));
      if (req.cmd === Cmd.SET_METADATA) return resp(undefined, failMeta ? 5 : 0);
      return resp();
    });
    const tracker = await trackerFor(storage);
    const c = client([tracker.hp]);
    expect(await c.upload(Buffer.from('x'), { metadata: { w: '1', a: 'b' } })).toBe(FILE_ID);
    const meta = packMetadata({ a: 'b', w: '1' });
    const name = Buffer.from(REMOTE);
    expect(storage.requests[1]?.body).toEqual(
      Buffer.concat([
        int64(name.length),
        int64(meta.length),
        Buffer.from('O'),
        fixed('group1', 16),
        name,
        meta,
      ]),
    );
    failMeta = true;
    const err = await rejection(c.upload(Buffer.from('x'), { metadata: { a: 'b' } }));
    expect(err.status).toBe(5);
    expect(storage.requests.map((r) => r.cmd)).toEqual([11, 13, 11, 13, 12]);
    expect(storage.requests[4]?.body).toEqual(Buffer.concat([fixed('group1', 16), name]));
  });

  it('refuses a stream that is shorter than its announced size and drops the connection', async () => {
    const storage = await fake(() => resp(uploadReply('group1', REMOTE)));
    const tracker = await trackerFor(storage);
    const c = client([tracker.hp]);
    await c.upload(Buffer.from('warm'));
    const err = await rejection(c.upload({ stream: Readable.from([Buffer.from('abc')]), size: 10 }));
    expect(err.status).toBe(22);
    expect(err.message).toMatch(/gave 3 bytes, but 10 were announced/);
    await c.upload(Buffer.from('again'));
    expect(storage.accepted()).toBe(2);
  });

  it('reports the status of a storage that refuses before taking the content', async () => {
    const server = createServer((sock) => {
      sockets.add(sock);
      sock.on('error', () => {});
      sock.once('data', () => sock.write(resp(undefined, 28)));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const tracker = await fake(() => resp(storeOne('group1', '127.0.0.1', port, 0)));
    const big = Buffer.alloc(32 * 1024 * 1024, 1);
    const err = await rejection(client([tracker.hp]).upload(big));
    expect(err.status).toBe(28);
    expect(err.message).toMatch(new RegExp(`upload of ${big.length} bytes to 127.0.0.1:${port}: ENOSPC`));
  });
});

describe('trackers', () => {
  it('fails over to the next tracker when one is down, starting round robin', async () => {
    const storage = await fake(() => resp(uploadReply('group1', REMOTE)));
    const good = await trackerFor(storage);
    const down = await deadAddress();
    const resetting = await fake(() => 'close');
    const c = client([down, resetting.hp, good.hp]);
    expect(await c.upload(Buffer.from('a'))).toBe(FILE_ID); // down, resetting, good
    expect(await c.upload(Buffer.from('b'))).toBe(FILE_ID); // resetting, good
    expect(await c.upload(Buffer.from('c'))).toBe(FILE_ID); // good
    expect(resetting.requests).toHaveLength(2);
    expect(good.requests).toHaveLength(3);
  });

  it('returns a status reply as the answer and does not ask another tracker', async () => {
    const first = await fake(() => resp(undefined, 2));
    const second = await fake(() => resp(storeOne('group1', '127.0.0.1', 1, 0)));
    const err = await rejection(client([first.hp, second.hp]).upload(Buffer.from('a'), { group: 'nogroup' }));
    expect(err.status).toBe(2);
    expect(err.code).toBe('FDFS_ERR_ENOENT');
    expect(err.message).toBe(
      `query store in nogroup on tracker 127.0.0.1:${first.port}: ENOENT (no group nogroup or no writable storage in it)`,
    );
    expect(second.requests).toHaveLength(0);
  });

  it('names every tracker tried when none answers', async () => {
    const hosts = [await deadAddress(), await deadAddress()];
    const err = await rejection(client(hosts).listGroups());
    expect(err.status).toBe(111);
    expect(err.message).toContain(`tried ${hosts.map((h) => `${h.host}:${h.port}`).join(', ')}`);
  });

  it('detects the stat layout by length and parses parameters', async () => {
    const g: GroupStat = {
      groupName: 'group1',
      totalMb: 100,
      freeMb: 50,
      reservedMb: 0,
      trunkFreeMb: 0,
      storageCount: 1,
      storagePort: 23000,
      storageHttpPort: 0,
      readableCount: 1,
      writableCount: 1,
      activeCount: 1,
      currentWriteServer: 0,
      storePathCount: 1,
      subdirCountPerPath: 256,
      currentTrunkFileId: 0,
    };
    const s = storageStat({ id: '100001' });
    let layout: 'current' | 'classic' = 'classic';
    const tracker = await fake((req) => {
      if (req.cmd === Cmd.SERVER_LIST_ALL_GROUPS) return resp(encodeGroupStat(g, layout));
      if (req.cmd === Cmd.SERVER_LIST_STORAGE) return resp(encodeStorageStat(s, layout));
      return resp(Buffer.from('use_storage_id=false\nstorage_sync_file_max_delay = 86400\n\n'));
    });
    const c = client([tracker.hp]);
    expect((await c.listGroups())[0]).toMatchObject({ groupName: 'group1', freeMb: 50, storagePort: 23000 });
    expect((await c.listStorages('group1'))[0]).toMatchObject({
      ip: '127.0.0.1',
      version: '6.16',
      freeMb: 50,
    });
    layout = 'current';
    expect((await c.listGroups())[0]).toMatchObject({ groupName: 'group1', writableCount: 1 });
    expect((await c.listStorages('group1'))[0]).toMatchObject({ id: '100001', version: '6.16', rwMode: 6 });
    expect(tracker.requests[1]?.body).toEqual(fixed('group1', 16));
    expect(await c.tracker.parameters()).toEqual({
      use_storage_id: 'false',
      storage_sync_file_max_delay: '86400',
    });
  });
});

describe('sync status (121, fastdfs-ts)', () => {
  it('decodes our tracker\'s matrix and takes a FastDFS tracker\'s EINVAL as "not available"', async () => {
    const rows = [
      { dest: '127.0.0.2', source: '127.0.0.3', syncedUntil: 1_700_000_100 },
      { dest: '127.0.0.3', source: '127.0.0.2', syncedUntil: 0 },
    ];
    const ours = await fake(() =>
      resp(
        Buffer.concat(
          rows.map((r) => Buffer.concat([fixed(r.dest, 16), fixed(r.source, 16), int64(r.syncedUntil)])),
        ),
      ),
    );
    expect(await client([ours.hp]).syncStatus('group1')).toEqual(rows);
    expect(ours.requests[0]).toMatchObject({ cmd: Cmd.TRACKER_SYNC_STATUS, body: fixed('group1', 16) });

    // What tracker_service.c does with a command it does not know: EINVAL, header only.
    const stock = await fake(() => resp(undefined, 22));
    const c = client([stock.hp]);
    expect(await c.syncStatus('group1')).toBeUndefined();
    // A link that got EINVAL is not reused (a FastDFS server may close it); asking again works.
    expect(await c.syncStatus('group1')).toBeUndefined();
    expect(stock.accepted()).toBe(2);

    const missing = await rejection(client([(await fake(() => resp(undefined, 2))).hp]).syncStatus('group9'));
    expect(missing.message).toContain('sync status of group9');
    expect(missing.status).toBe(2);
    // A reply that is not 40-byte rows is an error, not "not available".
    const garbled = await fake(() => resp(Buffer.alloc(41)));
    expect((await rejection(client([garbled.hp]).syncStatus('group1'))).status).toBe(22);
  });
});

describe('errors', () => {
  it('turns a storage status into an FdfsError naming the file and the server', async () => {
    const storage = await fake(() => resp(undefined, 2));
    const tracker = await trackerFor(storage);
    const c = client([tracker.hp]);
    const err = await rejection(c.delete(FILE_ID));
    expect(err.status).toBe(2);
    expect(err.fileId).toBe(FILE_ID);
    expect(err.message).toBe(`delete ${FILE_ID} on 127.0.0.1:${storage.port}: ENOENT (file not found)`);
    expect(tracker.requests[0]?.cmd).toBe(Cmd.QUERY_UPDATE);
    expect(tracker.requests[0]?.body).toEqual(Buffer.concat([fixed('group1', 16), Buffer.from(REMOTE)]));
    expect(await c.getMetadata(FILE_ID)).toEqual({});
    expect(storage.accepted()).toBe(1);
  });

  it('rejects a response whose cmd is not 100 and does not reuse that connection', async () => {
    let n = 0;
    const storage = await fake(() => (n++ === 0 ? resp(undefined, 0, 99) : resp()));
    const tracker = await trackerFor(storage);
    const c = client([tracker.hp]);
    const err = await rejection(c.truncate(`group1/${APPENDER}`, 3));
    expect(err.status).toBe(22);
    expect(err.message).toMatch(/with cmd 99, expected 100/);
    await c.truncate(`group1/${APPENDER}`);
    expect(storage.accepted()).toBe(2);
    expect(storage.requests[1]?.body).toEqual(
      Buffer.concat([int64(APPENDER.length), int64(0), Buffer.from(APPENDER)]),
    );
  });

  it('checks arguments before any I/O', async () => {
    const c = client([await deadAddress()]);
    expect((await rejection(c.delete('group1/../../etc/passwd'))).status).toBe(22);
    expect((await rejection(c.upload(Buffer.from('a'), { ext: 'toolong' }))).status).toBe(22);
    expect((await rejection(c.download(FILE_ID, { offset: -1 }))).status).toBe(22);
    expect((await rejection(c.uploadSlave(FILE_ID, Buffer.from('a'), { prefix: '' }))).status).toBe(22);
  });
});

describe('appender and slave commands', () => {
  it('sends 21, 24, 34, 36 and 38 to the storage the tracker names for updates (103)', async () => {
    const regenerated = 'M00/00/00/wKgACWHCyqeAR1X_AAAFTB0Vk_Y126.txt';
    const storage = await fake((req) => {
      if (req.cmd === Cmd.UPLOAD_SLAVE_FILE)
        return resp(uploadReply('group1', 'M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk_s.png'));
      if (req.cmd === Cmd.REGENERATE_APPENDER_FILENAME) return resp(uploadReply('group1', regenerated));
      return resp();
    });
    const tracker = await trackerFor(storage);
    const c = client([tracker.hp]);
    const appender = `group1/${APPENDER}`;
    const name = Buffer.from(APPENDER);
    expect(await c.uploadSlave(FILE_ID, Buffer.from('thumb'), { prefix: '_s' })).toBe(
      'group1/M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk_s.png',
    );
    await c.append(appender, Buffer.from('more'));
    await c.modify(appender, 2, { stream: Readable.from([Buffer.from('xy')]), size: 2 });
    await c.truncate(appender, 1);
    expect(await c.regenerateAppenderFilename(appender)).toBe(`group1/${regenerated}`);
    expect(tracker.requests.map((r) => r.cmd)).toEqual([103, 103, 103, 103, 103]);
    expect(storage.requests.map((r) => r.body)).toEqual([
      Buffer.concat([
        int64(REMOTE.length),
        int64(5),
        fixed('_s', 16),
        fixed('png', 6),
        Buffer.from(REMOTE),
        Buffer.from('thumb'),
      ]),
      Buffer.concat([int64(name.length), int64(4), name, Buffer.from('more')]),
      Buffer.concat([int64(name.length), int64(2), int64(2), name, Buffer.from('xy')]),
      Buffer.concat([int64(name.length), int64(1), name]),
      name,
    ]);
    expect(storage.requests.map((r) => r.cmd)).toEqual([21, 24, 34, 36, 38]);
  });
});

describe('download', () => {
  const content = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
  const chunks = (buf: Buffer, size: number) => {
    const out = [header(buf.length, 100)];
    for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
    return out;
  };

  it('streams a body delivered in many small chunks, then reuses the connection', async () => {
    const storage = await fake(() => chunks(content, 7));
    const tracker = await trackerFor(storage);
    const c = client([tracker.hp]);
    const body = await c.download(FILE_ID, { offset: 10, length: 5000 });
    const got: Buffer[] = [];
    for await (const chunk of body) got.push(chunk as Buffer);
    expect(Buffer.concat(got)).toEqual(content);
    expect(got.length).toBeGreaterThan(1);
    expect(tracker.requests[0]?.cmd).toBe(Cmd.QUERY_FETCH_ONE);
    const req = storage.requests[0];
    expect(req?.cmd).toBe(Cmd.DOWNLOAD_FILE);
    expect(req?.body).toEqual(
      Buffer.concat([int64(10), int64(5000), fixed('group1', 16), Buffer.from(REMOTE)]),
    );
    expect(await c.downloadBuffer(FILE_ID)).toEqual(content);
    const sink = new PassThrough();
    const collected: Buffer[] = [];
    sink.on('data', (d: Buffer) => collected.push(d));
    await c.downloadTo(FILE_ID, sink);
    expect(Buffer.concat(collected)).toEqual(content);
    expect(storage.accepted()).toBe(1);
  });

  it('writes to a local path and drops a connection whose body was not read to the end', async () => {
    // Larger than the stream's read-ahead, so stopping early leaves bytes unread on the socket.
    const content = Buffer.alloc(4 * 1024 * 1024, 9);
    const storage = await fake(() => chunks(content, 64 * 1024));
    const tracker = await trackerFor(storage);
    const c = client([tracker.hp]);
    const dir = await mkdtemp(join(tmpdir(), 'fdfs-client-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await c.downloadTo(FILE_ID, join(dir, 'out.bin'));
    // Buffer#equals: a deep toEqual over 4 MB is far too slow.
    expect((await readFile(join(dir, 'out.bin'))).equals(content)).toBe(true);
    const body = await c.download(FILE_ID);
    for await (const _ of body) break; // stop after the first chunk
    expect((await c.downloadBuffer(FILE_ID)).equals(content)).toBe(true);
    expect(storage.accepted()).toBe(2);
  });

  it('fails the stream with context when the storage drops mid-body', async () => {
    const storage = await fake(() => ({ write: [header(100, 100), Buffer.alloc(40)], thenClose: true }));
    const tracker = await trackerFor(storage);
    const body = await client([tracker.hp]).download(FILE_ID);
    const drain = async () => {
      for await (const _ of body) {
        // 40 of the 100 announced bytes arrive, then the storage closes
      }
    };
    const err = await rejection(drain());
    expect(err.status).toBe(104);
    expect(err.message).toMatch(
      new RegExp(`^download ${FILE_ID} from 127.0.0.1:${storage.port}: ECONNRESET`),
    );
  });

  it('tries the other replicas from 105 when the first storage answers ENOENT', async () => {
    const a = await fake(() => resp(undefined, 2));
    const b = await fake(() => [header(content.length, 100), content], '127.0.0.2', a.port);
    const tracker = await fake((req) =>
      req.cmd === Cmd.QUERY_FETCH_ONE
        ? resp(fetchReply('group1', '127.0.0.1', a.port))
        : resp(fetchReply('group1', '127.0.0.1', a.port, '127.0.0.2')),
    );
    const c = client([tracker.hp]);
    expect(await c.downloadBuffer(FILE_ID)).toEqual(content);
    expect(tracker.requests.map((r) => r.cmd)).toEqual([102, 105]);
    expect(a.requests).toHaveLength(1);
    expect(b.requests).toHaveLength(1);
  });

  it('reports the first ENOENT when no replica has the file', async () => {
    const a = await fake(() => resp(undefined, 2));
    const tracker = await fake((req) =>
      resp(fetchReply('group1', '127.0.0.1', a.port, ...(req.cmd === 105 ? ['127.0.0.1'] : []))),
    );
    const err = await rejection(client([tracker.hp]).downloadBuffer(FILE_ID));
    expect(err.message).toBe(`download ${FILE_ID} from 127.0.0.1:${a.port}: ENOENT (file not found)`);
    expect(a.requests).toHaveLength(1);
  });
});

describe('file info', () => {
  it('decodes locally and asks the storage (22) when told to', async () => {
    const storage = await fake(() =>
      resp(Buffer.concat([int64(7), int64(1700000000), int64(0xdeadbeef), fixed('10.0.0.9', 16)])),
    );
    const tracker = await trackerFor(storage);
    const c = client([tracker.hp]);
    expect(await c.fileInfo(FILE_ID)).toEqual({
      source: { kind: 'ip', ip: '192.168.0.101' },
      timestamp: 1639989816,
      size: 82983,
      crc32: 0x42610609,
      type: 'normal',
    });
    expect(storage.requests).toHaveLength(0);
    expect(await c.fileInfo(`group1/${APPENDER}`)).toEqual({
      source: { kind: 'ip', ip: '10.0.0.9' },
      timestamp: 1700000000,
      size: 7,
      crc32: 0xdeadbeef,
      type: 'appender',
    });
    expect(storage.requests[0]?.cmd).toBe(Cmd.QUERY_FILE_INFO);
    expect(tracker.requests[0]?.cmd).toBe(Cmd.QUERY_FETCH_ONE);
    expect((await c.fileInfo(FILE_ID, { fromServer: true })).size).toBe(7);
  });
});

describe('connection pool', () => {
  const opts = { connectTimeout: 1000, networkTimeout: 5000, maxIdleTime: 60_000 };

  it('reuses an idle connection per host:port', async () => {
    const server = await fake(() => resp());
    const pool = new ConnectionPool(opts);
    cleanups.push(() => pool.close());
    for (let i = 0; i < 3; i++) await pool.use(server.hp, (c) => c.call(Cmd.ACTIVE_TEST));
    expect(server.accepted()).toBe(1);
    expect(pool.stats).toEqual({ idle: 1, active: 0 });
  });

  it('never reuses a connection the server closed while it was idle', async () => {
    const server = await fake(() => ({ write: resp(), thenClose: true }));
    const pool = new ConnectionPool(opts);
    cleanups.push(() => pool.close());
    await pool.use(server.hp, (c) => c.call(Cmd.ACTIVE_TEST));
    await until(() => pool.stats.idle === 0);
    await pool.use(server.hp, (c) => c.call(Cmd.ACTIVE_TEST));
    expect(server.accepted()).toBe(2);
  });

  it('retries a reused connection that the peer drops, but not a fresh one or a timeout', async () => {
    // Drops every connection at its second request, like a server that closed it while idle
    // just as the client picked it up again.
    const server = await fake((req) =>
      server.requests.filter((r) => r.conn === req.conn).length > 1 ? 'close' : resp(),
    );
    const pool = new ConnectionPool(opts);
    cleanups.push(() => pool.close());
    await pool.use(server.hp, (c) => c.call(Cmd.ACTIVE_TEST));
    await pool.use(server.hp, (c) => c.call(Cmd.ACTIVE_TEST), { retryStale: true });
    expect(server.accepted()).toBe(2);
    const err = await rejection(pool.use(server.hp, (c) => c.call(Cmd.ACTIVE_TEST)));
    expect(err.status).toBe(104);
    const slow = await fake(() => (slow.requests.length > 1 ? 'silent' : resp()));
    const quick = new ConnectionPool({ ...opts, networkTimeout: 50 });
    cleanups.push(() => quick.close());
    await quick.use(slow.hp, (c) => c.call(Cmd.ACTIVE_TEST));
    const timedOut = await rejection(
      quick.use(slow.hp, (c) => c.call(Cmd.ACTIVE_TEST), { retryStale: true }),
    );
    expect(timedOut.status).toBe(110);
    expect(slow.accepted()).toBe(1);
  });

  it('closes every connection after use when pooling is off', async () => {
    const server = await fake(() => resp());
    const pool = new ConnectionPool({ ...opts, enabled: false });
    cleanups.push(() => pool.close());
    for (let i = 0; i < 3; i++) await pool.use(server.hp, (c) => c.call(Cmd.ACTIVE_TEST));
    expect(server.accepted()).toBe(3);
    expect(pool.stats).toEqual({ idle: 0, active: 0 });
    await until(() => server.closedSockets() === 3);
  });

  it('drops broken or half-read connections and idle ones past max idle time', async () => {
    const server = await fake(() => resp(Buffer.from('abcdef')));
    const pool = new ConnectionPool({ ...opts, maxIdleTime: 30 });
    cleanups.push(() => pool.close());
    const a = await pool.acquire(server.hp);
    await a.send(Cmd.ACTIVE_TEST, Buffer.alloc(0));
    await a.readHeader('test');
    pool.release(a); // body unread: out of step
    const b = await pool.acquire(server.hp);
    expect(b).not.toBe(a);
    b.markBroken();
    pool.release(b);
    const c = await pool.acquire(server.hp);
    expect(c).not.toBe(b);
    await c.call(Cmd.ACTIVE_TEST);
    pool.release(c);
    expect(pool.stats.idle).toBe(1);
    await until(() => pool.stats.idle === 0);
    await until(() => server.closedSockets() === 3);
    expect(server.accepted()).toBe(3);
  });
});
