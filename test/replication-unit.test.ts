/**
 * Replication pieces without a cluster: binlog records and reader, .mark and .data_init_flag
 * files, storage_ids.conf, the fetch-all layouts, and a storage applying a peer's pushes
 * (idempotent, logged lower case with the source's timestamp).
 */
import { createHash, randomBytes } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection } from '../src/client/index.js';
import { FdfsError, silentLogger } from '../src/common/index.js';
import {
  defaultStorageConfig,
  defaultTrackerConfig,
  parseStorageIds,
  StorageIdList,
} from '../src/config/index.js';
import {
  Cmd,
  decodeFetch,
  decodeServerId,
  decodeStatusReport,
  decodeSyncDelete,
  decodeSyncFileHead,
  decodeSyncPair,
  decodeSyncRangeHead,
  encodeFetch,
  encodeServerId,
  encodeStatusReport,
  encodeSyncDelete,
  encodeSyncFile,
  encodeSyncPair,
  encodeSyncRange,
  encodeWatermark,
  SYNC_FILE_FIXED,
  SYNC_RANGE_FIXED,
} from '../src/protocol/index.js';
import { Binlog, startStorage } from '../src/storage/index.js';
import {
  BinlogReader,
  decodeMark,
  encodeMark,
  freshMark,
  InitFlag,
  markFileName,
  parseRecord,
} from '../src/storage/sync/index.js';
import { startTracker } from '../src/tracker/index.js';
import { joinGroupPeer } from './helpers/group-peer.js';

const dirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function temp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'fdfs-repl-'));
  dirs.push(d);
  return d;
}

describe('binlog records', () => {
  it.each([
    [
      '1700000000 C M00/00/00/aaaaaaaaaaaabcabcabcabc.jpg',
      { ts: 1700000000, op: 'C', name: 'M00/00/00/aaaaaaaaaaaabcabcabcabc.jpg', extra: [] },
    ],
    [
      '1700000000 a M00/00/00/xxxxxxxxxxxx 10 20',
      { ts: 1700000000, op: 'a', name: 'M00/00/00/xxxxxxxxxxxx', extra: ['10', '20'] },
    ],
    [
      '1 R M00/00/00/newnewnewnew M00/00/00/oldoldoldold',
      { ts: 1, op: 'R', name: 'M00/00/00/newnewnewnew', extra: ['M00/00/00/oldoldoldold'] },
    ],
    ['1 d M00/00/00/xxxxxxxxxxxx-m', { ts: 1, op: 'd', name: 'M00/00/00/xxxxxxxxxxxx-m', extra: [] }],
  ])('%s', (line, want) => expect(parseRecord(line)).toEqual(want));

  it.each([
    '',
    'garbage',
    '17x C M00/00/00/aaaaaaaaaaaa',
    '1 Q M00/00/00/aaaaaaaaaaaa',
    '1 C',
    '1 C M00/00/00/aaaaaaaaaaaa extra',
    '1 A M00/00/00/aaaaaaaaaaaa 1',
    '1 A M00/00/00/aaaaaaaaaaaa x y',
    '1 CC M00/00/00/aaaaaaaaaaaa',
  ])('not a record: %j', (line) => expect(parseRecord(line)).toBeUndefined());
});

describe('binlog reader', () => {
  function reader(dir: string, current: () => number, bad: string[] = []) {
    return new BinlogReader(
      { dir, currentIndex: current, onBadLine: (l) => bad.push(l) },
      { index: 0, offset: 0 },
    );
  }

  it('returns complete lines with their end positions, waits for a partial one, skips junk', async () => {
    const dir = await temp();
    const path = join(dir, Binlog.fileName(0));
    await writeFile(path, '1 C M00/00/00/aaaaaaaaaaaa\nnot a record\n2 D M00/00/00/aaaaaaaaaaaa\n3 C M00/00');
    const bad: string[] = [];
    const r = reader(dir, () => 0, bad);
    const first = await r.read();
    expect(first.map((p) => [p.record.op, p.next.offset])).toEqual([
      ['C', 27],
      ['D', 67],
    ]);
    expect(bad).toEqual(['not a record']);
    expect(await r.read()).toEqual([]);
    await appendFile(path, '/00/bbbbbbbbbbbb\n');
    expect((await r.read()).map((p) => p.record.name)).toEqual(['M00/00/00/bbbbbbbbbbbb']);
    await r.close();
  });

  it('moves on to the next binlog file once the writer has rotated', async () => {
    const dir = await temp();
    await writeFile(join(dir, Binlog.fileName(0)), '1 C M00/00/00/aaaaaaaaaaaa\n2 C M00/00/00/torn');
    await writeFile(join(dir, Binlog.fileName(1)), '3 C M00/00/00/cccccccccccc\n');
    let current = 0;
    const bad: string[] = [];
    const r = reader(dir, () => current, bad);
    expect((await r.read()).map((p) => p.record.ts)).toEqual([1]);
    current = 1;
    const next = await r.read();
    expect(next.map((p) => [p.record.ts, p.next])).toEqual([[3, { index: 1, offset: 27 }]]);
    expect(bad).toEqual(['2 C M00/00/00/torn']);
    await r.close();
  });

  it('a Binlog reopened after a torn write ends the fragment so the next record stands alone', async () => {
    const dir = await temp();
    await writeFile(join(dir, Binlog.fileName(0)), '1 C M00/00/00/aaaaaaaaaaaa\n2 C M00/0');
    const b = new Binlog(dir, false);
    await b.open();
    await b.append('C', 'M00/00/00/bbbbbbbbbbbb', undefined, 3);
    await b.close();
    const r = reader(dir, () => 0);
    expect((await r.read()).map((p) => p.record.ts)).toEqual([1, 3]);
    await r.close();
  });
});

describe('.mark and .data_init_flag', () => {
  it('marks round-trip in FastDFS key order; a torn one is refused', () => {
    const m = { ...freshMark(true, 1234), binlogIndex: 2, binlogOffset: 99, syncRowCount: 7 };
    const text = encodeMark(m);
    expect(text.split('\n')[0]).toBe('binlog_index=2');
    expect(text).toContain('need_sync_old=1\nsync_old_done=0\nuntil_timestamp=1234\n');
    expect(decodeMark(text)).toEqual(m);
    expect(decodeMark(text.slice(0, text.length - 20))).toBeUndefined();
  });

  it('marks are named by id with storage ids, by ip_port without', () => {
    expect(markFileName({ id: '100001', ip: '10.0.0.1', port: 23000 })).toBe('100001.mark');
    expect(markFileName({ id: '10.0.0.1', ip: '10.0.0.1', port: 23000 })).toBe('10.0.0.1_23000.mark');
  });

  it('a new storage needs old data; one with a binlog already holds it; the flag persists', async () => {
    const data = await temp();
    const sync = join(data, 'sync');
    await mkdir(sync);
    const fresh = new InitFlag(data, sync, false);
    await fresh.load(100);
    expect(fresh.state).toEqual({
      storageJoinTime: 100,
      syncOldDone: false,
      syncSrcServer: '',
      syncUntilTimestamp: 0,
    });
    Object.assign(fresh.state, { syncSrcServer: '10.0.0.2', syncUntilTimestamp: 99 });
    await fresh.save();
    const again = new InitFlag(data, sync, false);
    await again.load(200);
    expect(again.state.syncSrcServer).toBe('10.0.0.2');

    const old = await temp();
    await mkdir(join(old, 'sync'));
    await writeFile(join(old, 'sync', Binlog.fileName(0)), '1 C M00/00/00/a\n');
    await writeFile(join(old, '.data_init_flag'), 'torn');
    const existing = new InitFlag(old, join(old, 'sync'), false);
    await existing.load(300);
    expect(existing.state.syncOldDone).toBe(true);
  });
});

describe('storage_ids.conf', () => {
  it('parses ids, groups, several addresses, ports and IPv6', () => {
    const list = parseStorageIds(
      '# comment\n100001 group1 192.168.0.196\n100002   group1  10.0.0.1,192.168.0.197:23001 rw=rw\nabc group2 [::1]:23000\n',
    );
    expect(list).toEqual([
      { id: '100001', group: 'group1', hosts: ['192.168.0.196'], port: 0 },
      { id: '100002', group: 'group1', hosts: ['10.0.0.1', '192.168.0.197'], port: 23001 },
      { id: 'abc', group: 'group2', hosts: ['::1'], port: 23000 },
    ]);
    const ids = new StorageIdList(list);
    expect(ids.find('group1', '10.0.0.1', 23001)?.id).toBe('100002');
    expect(ids.find('group1', '192.168.0.196', 1)?.id).toBe('100001');
    expect(ids.find('group2', '192.168.0.196', 1)).toBeUndefined();
    expect(ids.lines()).toEqual([
      '100001 group1 192.168.0.196',
      '100002 group1 10.0.0.1,192.168.0.197:23001',
      'abc group2 [::1]:23000',
    ]);
  });

  it.each([
    ['1 group1', 'an address'],
    ['0 group1 10.0.0.1', 'numeric id'],
    ['1234567890123456 group1 10.0.0.1', 'an id of'],
    ['1 bad-group 10.0.0.1', 'a group name'],
    ['1 group1 10.0.0.1\n1 group1 10.0.0.2', 'a unique id'],
    ['1 group1 10.0.0.1:23000\n2 group1 10.0.0.1:23000', 'not already given'],
    ['1 group1 10.0.0.1:99999', 'an address'],
  ])('refuses %j', (text, why) => {
    expect(() => parseStorageIds(text, 'ids.conf')).toThrow(why);
  });
});

describe('wire bodies', () => {
  it('sync bodies round-trip', () => {
    const file = encodeSyncFile('group1', 'M00/00/00/a', 42, 7);
    expect(decodeSyncFileHead(file.subarray(0, SYNC_FILE_FIXED))).toEqual({
      nameLen: 11,
      fileSize: 42,
      timestamp: 7,
      group: 'group1',
    });
    const range = encodeSyncRange('group1', 'M00/00/00/a', 5, 6, 7);
    expect(decodeSyncRangeHead(range.subarray(0, SYNC_RANGE_FIXED))).toMatchObject({
      a: 5,
      b: 6,
      timestamp: 7,
    });
    expect(decodeSyncDelete(encodeSyncDelete('group1', 'M00/00/00/a-m', 9))).toEqual({
      timestamp: 9,
      group: 'group1',
      name: 'M00/00/00/a-m',
    });
    expect(decodeSyncPair(encodeSyncPair('g', 'M00/00/00/new', 'M00/00/00/old', 1))).toEqual({
      timestamp: 1,
      group: 'g',
      dest: 'M00/00/00/new',
      src: 'M00/00/00/old',
    });
    expect(decodeServerId(encodeServerId('100001'))).toBe('100001');
    const st = { group: 'group1', status: 7, port: 23000, id: '100001', ip: '10.0.0.1' };
    expect(decodeStatusReport(encodeStatusReport(st))).toEqual(st);
  });

  it('fetch-all: classic layout while ports agree, one port per entry when they differ', () => {
    const same = [1, 2, 3].map((i) => ({ ip: `10.0.0.${i}`, port: 23000 }));
    const classic = encodeFetch('group1', same);
    expect(classic.length).toBe(39 + 2 * 15);
    expect(decodeFetch(classic).map((t) => `${t.ip}:${t.port}`)).toEqual([
      '10.0.0.1:23000',
      '10.0.0.2:23000',
      '10.0.0.3:23000',
    ]);
    const mixed = [1, 2, 3].map((i) => ({ ip: '127.0.0.1', port: 23000 + i }));
    const v616 = encodeFetch('group1', mixed);
    expect(v616.length).toBe(39 + 2 * 23);
    expect(decodeFetch(v616).map((t) => t.port)).toEqual([23001, 23002, 23003]);
    // 24 classic entries and 16 V6.16 ones have the same length; the content tells them apart.
    const c24 = Array.from({ length: 24 }, (_, i) => ({ ip: `10.0.${i}.1`, port: 23000 }));
    const v16 = Array.from({ length: 16 }, (_, i) => ({ ip: `10.0.${i}.1`, port: 23000 + i }));
    expect(encodeFetch('g', c24).length).toBe(encodeFetch('g', v16).length);
    expect(decodeFetch(encodeFetch('g', c24))).toHaveLength(24);
    expect(decodeFetch(encodeFetch('g', v16)).map((t) => t.port)).toEqual(v16.map((t) => t.port));
  });
});

describe('a storage applying a peer’s pushes', () => {
  async function storage(serverId = '') {
    const base = await temp();
    // Pushes are taken only from storages a tracker lists for the group (peer-guard.ts).
    const tracker = await startTracker(
      defaultTrackerConfig(
        new Map([
          ['base_path', [await temp()]],
          ['bind_addr', ['127.0.0.1']],
          ['port', ['0']],
        ]),
      ).config,
      { logger: silentLogger },
    );
    cleanups.push(() => tracker.close());
    const { config } = defaultStorageConfig(
      new Map([
        ['base_path', [base]],
        ['bind_addr', ['127.0.0.1']],
        ['port', ['0']],
        ['tracker_server', [`127.0.0.1:${tracker.address.port}`]],
        ['subdir_count_per_path', ['4']],
        ['durable_writes', ['false']],
        ['server_id', [serverId]],
      ]),
    );
    const node = await startStorage(config, { logger: silentLogger });
    cleanups.push(() => node.close());
    const conn = await Connection.open({
      host: '127.0.0.1',
      port: node.address.port,
      connectTimeout: 2000,
      networkTimeout: 5000,
    });
    cleanups.push(async () => conn.close());
    return { base, node, conn, tracker: { host: '127.0.0.1', port: tracker.address.port } };
  }

  async function push(conn: Connection, cmd: number, fixed: Buffer, content?: Buffer): Promise<number> {
    await conn.send(
      cmd,
      fixed,
      content ? { size: content.length, stream: Readable.from([content]) } : undefined,
    );
    try {
      const h = await conn.readHeader('push');
      await conn.readBody(h.length);
      return 0;
    } catch (err) {
      if (err instanceof FdfsError) return err.status;
      throw err;
    }
  }

  const NAME = 'M00/00/00/fwAAAWVlAAAAAAAAAAAAAAAAAAA123.bin';

  it('needs REPORT_SERVER_ID first, applies each change once however often it comes, logs it lower case', async () => {
    const { base, node, conn, tracker } = await storage();
    expect(await push(conn, Cmd.SYNC_DELETE_FILE, encodeSyncDelete('group1', NAME, 1))).toBe(13);
    const member = await joinGroupPeer([tracker], 'group1', '127.0.0.2');
    cleanups.push(() => member.close());
    const c2 = await Connection.open({
      host: '127.0.0.1',
      port: node.address.port,
      localAddress: '127.0.0.2',
      connectTimeout: 2000,
      networkTimeout: 5000,
    });
    cleanups.push(async () => c2.close());
    expect(await push(c2, Cmd.REPORT_SERVER_ID, encodeServerId('127.0.0.2'))).toBe(0);
    const content = randomBytes(3000);
    for (let i = 0; i < 2; i++) {
      expect(
        await push(
          c2,
          Cmd.SYNC_CREATE_FILE,
          encodeSyncFile('group1', NAME, content.length, 1_700_000_001),
          content,
        ),
      ).toBe(0);
    }
    const path = join(base, 'data', '00', '00', NAME.slice(10));
    expect(
      createHash('sha1')
        .update(await readFile(path))
        .digest('hex'),
    ).toBe(createHash('sha1').update(content).digest('hex'));
    const meta = Buffer.from('a\u0002b');
    expect(
      await push(
        c2,
        Cmd.SYNC_CREATE_FILE,
        encodeSyncFile('group1', `${NAME}-m`, meta.length, 1_700_000_002),
        meta,
      ),
    ).toBe(0);
    // A write past what this storage holds is refused (the sender then sends the whole file), in step.
    expect(
      await push(c2, Cmd.SYNC_APPEND_FILE, encodeSyncRange('group1', NAME, 5000, 4, 3), Buffer.from('abcd')),
    ).toBe(2);
    expect(
      await push(c2, Cmd.SYNC_MODIFY_FILE, encodeSyncRange('group1', NAME, 10, 4, 3), Buffer.from('abcd')),
    ).toBe(0);
    for (let i = 0; i < 2; i++)
      expect(await push(c2, Cmd.SYNC_DELETE_FILE, encodeSyncDelete('group1', NAME, 1_700_000_003))).toBe(0);
    expect(await push(c2, Cmd.SYNC_WATERMARK, encodeWatermark(1_700_000_000))).toBe(0);
    expect(node.sync.receiver.reportRows()).toEqual([{ id: '127.0.0.2', timestamp: 1_700_000_000 }]);
    const log = await readFile(join(base, 'data', 'sync', Binlog.fileName(0)), 'utf8');
    expect(log.split('\n').filter(Boolean)).toEqual([
      `1700000001 c ${NAME}`,
      `1700000001 c ${NAME}`,
      `1700000002 c ${NAME}-m`,
      `3 m ${NAME} 10 4`,
      `1700000003 d ${NAME}`,
      `1700000003 d ${NAME}`,
    ]);
    // Another group's file, or a name that could escape the store, is refused.
    expect(await push(c2, Cmd.SYNC_DELETE_FILE, encodeSyncDelete('group2', NAME, 1))).toBe(22);
  });

  it('refuses a peer that reports this storage’s own id', async () => {
    const { conn } = await storage('100001');
    expect(await push(conn, Cmd.REPORT_SERVER_ID, encodeServerId('100001'))).toBe(22);
  });
});
