import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type LogFields, type Logger, silentLogger } from '../src/common/index.js';
import type { TrackerConfig } from '../src/config/types.js';
import { encodeRemoteFilename } from '../src/fileid/index.js';
import {
  Cmd,
  decodeFetch,
  decodeGroupStats,
  decodeJoinReply,
  decodeStorageStats,
  decodeStoreAll,
  decodeStoreOne,
  emptyCounters,
  encodeCounters,
  encodeDiskUsage,
  encodeGroupAndName,
  encodeHeader,
  encodeJoin,
  encodePacket,
  fixedString,
  StorageStatus,
} from '../src/protocol/index.js';
import { STATE_FILE_NAME, startTracker, type TrackerDeps, type TrackerHandle } from '../src/tracker/index.js';
import { testTrackerConfig } from './helpers/fixtures.js';

interface Reply {
  cmd: number;
  status: number;
  body: Buffer;
}

/** A scripted peer: sends exact bytes, reads whole packets. */
class RawPeer {
  #buf = Buffer.alloc(0);
  #wake: (() => void) | undefined;
  isClosed = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      this.#wake?.();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.#wake?.();
        resolve();
      }),
    );
  }

  static connect(port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => resolve(new RawPeer(s)));
      s.once('error', reject);
    });
  }

  private async need(n: number): Promise<void> {
    while (this.#buf.length < n) {
      if (this.isClosed) throw new Error(`peer closed with ${this.#buf.length} of ${n} bytes`);
      await new Promise<void>((r) => {
        this.#wake = r;
      });
    }
  }

  async read(): Promise<Reply> {
    await this.need(10);
    const len = Number(this.#buf.readBigInt64BE(0));
    await this.need(10 + len);
    const reply = {
      cmd: this.#buf[8] ?? -1,
      status: this.#buf[9] ?? -1,
      body: Buffer.from(this.#buf.subarray(10, 10 + len)),
    };
    this.#buf = this.#buf.subarray(10 + len);
    return reply;
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  request(cmd: number, body?: Buffer): Promise<Reply> {
    this.send(encodePacket(cmd, body));
    return this.read();
  }

  end(): void {
    this.socket.destroy();
  }
}

function config(basePath: string, over: Partial<TrackerConfig> = {}): TrackerConfig {
  return testTrackerConfig(basePath, { networkTimeout: 30_000, ...over });
}

function captureLogger(lines: { level: string; msg: string; fields?: LogFields }[]): Logger {
  const at =
    (level: string) =>
    (msg: string, fields?: LogFields): void => {
      lines.push(fields === undefined ? { level, msg } : { level, msg, fields });
    };
  const logger: Logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return logger;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fdfs-tracker-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function start(
  over: Partial<TrackerConfig> = {},
  deps: Partial<TrackerDeps> = {},
  dir?: string,
): Promise<TrackerHandle> {
  const base = dir ?? (await tempDir());
  const t = await startTracker(config(base, over), { logger: silentLogger, ...deps });
  cleanups.push(() => t.close());
  return t;
}

async function peer(t: TrackerHandle): Promise<RawPeer> {
  const p = await RawPeer.connect(t.address.port);
  cleanups.push(async () => p.end());
  return p;
}

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
}

const STORAGE_PORT = 23001;

/** Joins as a storage of `group` with two paths, beats with counters, reports disk usage. */
async function joinAsStorage(p: RawPeer, group = 'group1'): Promise<void> {
  const join = await p.request(
    Cmd.STORAGE_JOIN,
    encodeJoin({
      group,
      storagePort: STORAGE_PORT,
      storePathCount: 2,
      subdirCountPerPath: 256,
      uploadPriority: 10,
      joinTime: 1_700_000_000,
      upTime: 1_700_000_100,
      version: '6.16',
      initFlag: 1,
      status: 0,
      storageId: '',
      currentTrackerIp: '127.0.0.1',
      trackers: ['127.0.0.1:22122'],
    }),
  );
  expect(join.cmd).toBe(Cmd.RESP);
  expect(join.status).toBe(0);
  expect(join.body.length).toBe(17);
  expect(decodeJoinReply(join.body)).toEqual({ status: StorageStatus.ONLINE, srcId: '' });
  const beat = await p.request(Cmd.STORAGE_BEAT, encodeCounters({ ...emptyCounters(), totalUploadCount: 3 }));
  expect([beat.status, [...beat.body]]).toEqual([0, [0]]);
  const disk = await p.request(
    Cmd.STORAGE_REPORT_DISK_USAGE,
    encodeDiskUsage([
      { totalMb: 1000, freeMb: 800 },
      { totalMb: 1000, freeMb: 900 },
    ]),
  );
  expect([disk.status, [...disk.body]]).toEqual([0, [0]]);
}

function fileName(ip: string): string {
  return encodeRemoteFilename({
    storePathIndex: 0,
    subdirHigh: 0,
    subdirLow: 0,
    source: { kind: 'ip', ip },
    timestamp: Math.floor(Date.now() / 1000) - 10,
    size: 1234,
    crc32: 0,
    ext: 'txt',
  });
}

describe('tracker service', () => {
  it('answers store queries for a joined storage', async () => {
    const t = await start();
    await joinAsStorage(await peer(t));
    const c = await peer(t);
    const one = await c.request(Cmd.QUERY_STORE_WITHOUT_GROUP_ONE);
    expect([one.cmd, one.status, one.body.length]).toEqual([Cmd.RESP, 0, 40]);
    expect(decodeStoreOne(one.body)).toEqual({
      group: 'group1',
      ip: '127.0.0.1',
      port: STORAGE_PORT,
      storePathIndex: 0,
    });
    const named = await c.request(Cmd.QUERY_STORE_WITH_GROUP_ONE, fixedString('group1', 16));
    expect(decodeStoreOne(named.body).storePathIndex).toBe(1);
    const all = await c.request(Cmd.QUERY_STORE_WITH_GROUP_ALL, fixedString('group1', 16));
    expect(all.body.length).toBe(16 + 23 + 1);
    expect(decodeStoreAll(all.body).map((s) => s.ip)).toEqual(['127.0.0.1']);
    const unknown = await c.request(Cmd.QUERY_STORE_WITH_GROUP_ONE, fixedString('nogroup', 16));
    expect([unknown.status, unknown.body.length]).toEqual([2, 0]);
    expect(t.cluster.storage('group1', '127.0.0.1')?.status).toBe(StorageStatus.ACTIVE);
  });

  it('with no storage, store queries are ENOENT', async () => {
    const t = await start();
    const c = await peer(t);
    expect((await c.request(Cmd.QUERY_STORE_WITHOUT_GROUP_ONE)).status).toBe(2);
  });

  it('answers fetch, update and fetch-all for a file the storage wrote', async () => {
    const t = await start();
    await joinAsStorage(await peer(t));
    const c = await peer(t);
    const body = encodeGroupAndName('group1', fileName('127.0.0.1'));
    for (const cmd of [Cmd.QUERY_FETCH_ONE, Cmd.QUERY_UPDATE, Cmd.QUERY_FETCH_ALL]) {
      const r = await c.request(cmd, body);
      expect([r.status, r.body.length]).toEqual([0, 39]);
      expect(decodeFetch(r.body)).toEqual([{ group: 'group1', ip: '127.0.0.1', port: STORAGE_PORT }]);
    }
    const bad = await c.request(Cmd.QUERY_FETCH_ONE, encodeGroupAndName('group1', 'M00/00/00/short'));
    expect(bad.status).toBe(22);
    const noGroup = await c.request(
      Cmd.QUERY_FETCH_ONE,
      encodeGroupAndName('nogroup', fileName('127.0.0.1')),
    );
    expect(noGroup.status).toBe(2);
  });

  for (const [layout, groupSize, storageSize] of [
    ['current', 113, 487],
    ['classic', 105, 612],
  ] as const) {
    it(`lists groups and storages in the ${layout} layout (${groupSize}/${storageSize})`, async () => {
      const t = await start({ statLayout: layout });
      await joinAsStorage(await peer(t));
      const c = await peer(t);
      const one = await c.request(Cmd.SERVER_LIST_ONE_GROUP, fixedString('group1', 16));
      expect([one.status, one.body.length]).toEqual([0, groupSize]);
      const [g] = decodeGroupStats(one.body, layout);
      expect(g).toMatchObject({
        groupName: 'group1',
        totalMb: 2000,
        freeMb: 1700,
        storageCount: 1,
        activeCount: 1,
      });
      expect(g).toMatchObject({ storagePort: STORAGE_PORT, storePathCount: 2, subdirCountPerPath: 256 });
      const all = await c.request(Cmd.SERVER_LIST_ALL_GROUPS);
      expect(all.body.length).toBe(groupSize);
      const list = await c.request(Cmd.SERVER_LIST_STORAGE, fixedString('group1', 16));
      expect([list.status, list.body.length]).toEqual([0, storageSize]);
      const [s] = decodeStorageStats(list.body, layout);
      expect(s).toMatchObject({
        status: StorageStatus.ACTIVE,
        id: '127.0.0.1',
        ip: '127.0.0.1',
        storagePort: STORAGE_PORT,
      });
      expect(s?.counters.totalUploadCount).toBe(3);
      const byId = await c.request(
        Cmd.SERVER_LIST_STORAGE,
        Buffer.concat([fixedString('group1', 16), Buffer.from('127.0.0.1')]),
      );
      expect(byId.body.length).toBe(storageSize);
      const missing = await c.request(
        Cmd.SERVER_LIST_STORAGE,
        Buffer.concat([fixedString('group1', 16), Buffer.from('1.2.3.4')]),
      );
      expect(missing.status).toBe(2);
      expect((await c.request(Cmd.SERVER_LIST_ONE_GROUP, fixedString('nogroup', 16))).status).toBe(2);
    });
  }

  it('parameters (75) and storage ids (69)', async () => {
    const t = await start();
    const c = await peer(t);
    const params = await c.request(Cmd.STORAGE_PARAMETER_REQ);
    expect(params.status).toBe(0);
    const text = params.body.toString('utf8');
    expect(text).toMatch(/^use_storage_id=0\n/);
    expect(text).toContain('storage_sync_file_max_delay=86400\n');
    expect(text).toContain('reserved_storage_space=0MB\n');
    const five = await c.request(Cmd.STORAGE_FETCH_STORAGE_IDS, Buffer.from([0, 0, 0, 0, 1]));
    expect([five.status, [...five.body]]).toEqual([0, [0, 0, 0, 0, 0, 0, 0, 0]]);
    const four = await c.request(Cmd.STORAGE_FETCH_STORAGE_IDS, Buffer.from([0, 0, 0, 0]));
    expect([four.status, four.body.length]).toEqual([22, 0]);
  });

  it('refuses bad lengths and unknown commands but keeps the connection', async () => {
    const t = await start();
    const c = await peer(t);
    expect((await c.request(Cmd.QUERY_STORE_WITHOUT_GROUP_ONE, Buffer.from([1]))).status).toBe(22);
    expect((await c.request(Cmd.QUERY_STORE_WITH_GROUP_ONE, fixedString('g', 15))).status).toBe(22);
    expect((await c.request(Cmd.QUERY_FETCH_ONE, fixedString('group1', 20))).status).toBe(22);
    const unknown = await c.request(200, Buffer.from('xyz'));
    expect([unknown.cmd, unknown.status, unknown.body.length]).toEqual([Cmd.RESP, 22, 0]);
    expect((await c.request(Cmd.ACTIVE_TEST)).status).toBe(0);
    expect(c.isClosed).toBe(false);
  });

  it('a storage command before join is EACCES', async () => {
    const t = await start();
    const c = await peer(t);
    expect((await c.request(Cmd.STORAGE_BEAT)).status).toBe(13);
    expect((await c.request(Cmd.STORAGE_REPORT_DISK_USAGE, Buffer.alloc(32))).status).toBe(13);
  });

  it('drops a peer that sends a negative length, and keeps serving others', async () => {
    const t = await start();
    const other = await peer(t);
    const bad = await peer(t);
    const header = encodeHeader(0, Cmd.QUERY_STORE_WITHOUT_GROUP_ONE);
    header.writeBigInt64BE(-1n, 0);
    bad.send(header);
    await bad.closed;
    expect((await other.request(Cmd.ACTIVE_TEST)).status).toBe(0);
  });

  it('drops a peer announcing a huge body without waiting for it', async () => {
    const t = await start();
    const other = await peer(t);
    const bad = await peer(t);
    bad.send(encodeHeader(2n ** 40n, Cmd.STORAGE_JOIN));
    await bad.closed;
    expect((await other.request(Cmd.QUERY_STORE_WITHOUT_GROUP_ONE)).status).toBe(2);
  });

  it('enforces max_connections', async () => {
    const t = await start({ maxConnections: 2 });
    const a = await peer(t);
    const b = await peer(t);
    expect((await a.request(Cmd.ACTIVE_TEST)).status).toBe(0);
    expect((await b.request(Cmd.ACTIVE_TEST)).status).toBe(0);
    const c = await peer(t);
    await c.closed;
    expect((await a.request(Cmd.ACTIVE_TEST)).status).toBe(0);
  });

  it('a closed storage link goes OFFLINE; delete follows EBUSY/EALREADY/ENOENT', async () => {
    const t = await start();
    const s = await peer(t);
    await joinAsStorage(s);
    const admin = await peer(t);
    const del = (id: string) =>
      admin.request(Cmd.SERVER_DELETE_STORAGE, Buffer.concat([fixedString('group1', 16), Buffer.from(id)]));
    expect((await del('127.0.0.1')).status).toBe(16);
    s.end();
    await waitFor(() => t.cluster.storage('group1', '127.0.0.1')?.status === StorageStatus.OFFLINE);
    const ok = await del('127.0.0.1');
    expect([ok.status, ok.body.length]).toEqual([0, 0]);
    expect((await del('127.0.0.1')).status).toBe(114);
    expect((await del('10.1.1.1')).status).toBe(2);
  });

  it('the sweep timer marks a silent storage OFFLINE', async () => {
    let now = 1_700_000_000_000;
    const t = await start({ checkActiveInterval: 5000 }, { now: () => now, sweepIntervalMs: 10 });
    await joinAsStorage(await peer(t));
    now += 5001;
    await waitFor(() => t.cluster.storage('group1', '127.0.0.1')?.status === StorageStatus.OFFLINE);
  });

  it('keeps the cluster across a restart; storages come back OFFLINE', async () => {
    const dir = await tempDir();
    const first = await startTracker(config(dir), { logger: silentLogger });
    const s = await RawPeer.connect(first.address.port);
    await joinAsStorage(s, 'groupX');
    await first.close();
    await s.closed;
    const second = await start({}, {}, dir);
    const c = await peer(second);
    const all = await c.request(Cmd.SERVER_LIST_ALL_GROUPS);
    expect(decodeGroupStats(all.body, 'current').map((g) => g.groupName)).toEqual(['groupX']);
    const list = await c.request(Cmd.SERVER_LIST_STORAGE, fixedString('groupX', 16));
    expect(decodeStorageStats(list.body, 'current').map((st) => [st.ip, st.status])).toEqual([
      ['127.0.0.1', StorageStatus.OFFLINE],
    ]);
  });

  it('writes the state at join, before any close (a crash keeps it)', async () => {
    const dir = await tempDir();
    const first = await start({}, {}, dir);
    await joinAsStorage(await peer(first), 'groupY');
    const second = await start({}, {}, dir);
    expect(second.cluster.group('groupY')?.storages.get('127.0.0.1')?.status).toBe(StorageStatus.OFFLINE);
  });

  it('ignores a corrupt state file with a warning', async () => {
    const dir = await tempDir();
    const lines: { level: string; msg: string }[] = [];
    await start({}, {}, dir).then((t) => t.close());
    await writeFile(
      join(dir, 'data', STATE_FILE_NAME),
      'fastdfs-ts tracker state v1 crc32=00000000 bytes=2\n{}',
    );
    const t = await start({}, { logger: captureLogger(lines) }, dir);
    expect(t.cluster.groups.size).toBe(0);
    expect(lines.some((l) => l.level === 'warn' && /state file/.test(l.msg))).toBe(true);
  });
});
