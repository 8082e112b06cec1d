import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  Cmd,
  decodeFetch,
  decodeGroupStats,
  decodeHeader,
  decodeStorageStats,
  decodeStoreAll,
  decodeStoreOne,
  decodeSyncStatus,
  decodeSyncStatusQuery,
  encodeFetch,
  encodeGroupStat,
  encodeHeader,
  encodeStorageStat,
  encodeStoreOne,
  encodeSyncStatus,
  encodeSyncStatusQuery,
  FdfsError,
  FrameReader,
  type GroupStat,
  packMetadata,
  unpackMetadata,
} from '../src/protocol/index.js';
import { storageStat } from './helpers/fixtures.js';

function chunked(bytes: Buffer, size: number): AsyncIterable<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts);
}

describe('header', () => {
  it('round-trips and rejects negative or unsafe lengths', () => {
    expect(decodeHeader(encodeHeader(1234, 11, 0))).toEqual({ length: 1234, cmd: 11, status: 0 });
    const neg = encodeHeader(-1n, 11);
    expect(() => decodeHeader(neg)).toThrow(FdfsError);
    expect(() => decodeHeader(encodeHeader(2n ** 62n, 11))).toThrow(/invalid packet length/);
  });
});

describe('FrameReader', () => {
  it('reads headers and bodies split across one-byte chunks', async () => {
    const body = Buffer.from('hello world');
    const wire = Buffer.concat([encodeHeader(body.length, 14), body, encodeHeader(0, 111)]);
    const r = new FrameReader(chunked(wire, 1));
    expect(await r.readHeader()).toEqual({ length: 11, cmd: 14, status: 0 });
    expect((await r.readBody(11)).toString()).toBe('hello world');
    expect((await r.readHeader())?.cmd).toBe(111);
    expect(await r.readHeader()).toBeNull();
  });

  it('streams exactly n bytes and leaves the rest for the next read', async () => {
    const wire = Buffer.concat([Buffer.alloc(100_000, 7), encodeHeader(0, 82)]);
    const r = new FrameReader(chunked(wire, 4096));
    let total = 0;
    for await (const c of r.take(100_000)) total += c.length;
    expect(total).toBe(100_000);
    expect(r.consumed).toBe(100_000);
    expect((await r.readHeader())?.cmd).toBe(82);
  });

  it('refuses a control body over the cap without reading it', async () => {
    const r = new FrameReader(chunked(Buffer.alloc(16), 16));
    await expect(r.readBody(1 << 30, 1024)).rejects.toThrow(/exceeds/);
    expect(r.consumed).toBe(0);
  });

  it('stops taking from a stream nobody reads, then delivers every byte in order', async () => {
    const src = new PassThrough();
    const r = new FrameReader(src);
    const chunk = Buffer.alloc(64 * 1024);
    let accepted = 0;
    // Unread, the reader queues about 64 KB and pauses the stream; the writer then sees false.
    for (let i = 0; accepted < 8 * 1024 * 1024; i++) {
      chunk.fill(i & 0xff);
      accepted += chunk.length;
      if (!src.write(Buffer.from(chunk))) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(accepted).toBeLessThan(256 * 1024);
    src.end();
    const all = await r.readExact(accepted);
    for (let off = 0, i = 0; off < accepted; off += chunk.length, i++)
      expect(all[off], `chunk ${i}`).toBe(i & 0xff);
    expect(await r.readHeader()).toBeNull();
  });

  it('ends at once over a stream that closed before the reader came', async () => {
    // A storage worker starts reading a connection only once the storage admits it; a socket
    // closed meanwhile (the worker's own shutdown ends it) emits nothing more.
    const src = new PassThrough();
    src.destroy();
    await new Promise((resolve) => src.once('close', resolve));
    expect(await new FrameReader(src).readHeader()).toBeNull();
    const failed = new PassThrough();
    failed.on('error', () => {}); // seen by the reader through `errored`, not this event
    failed.destroy(new FdfsError(104, 'connection reset'));
    await new Promise((resolve) => failed.once('close', resolve));
    await expect(new FrameReader(failed).readHeader()).rejects.toMatchObject({ status: 104 });
  });

  it('rejects a pending read with the error the stream was destroyed with', async () => {
    const src = new PassThrough();
    const r = new FrameReader(src);
    const pending = r.readExact(10);
    src.destroy(new FdfsError(110, 'no answer in time'));
    await expect(pending).rejects.toMatchObject({ status: 110 });
  });

  it('reports a truncated body', async () => {
    const r = new FrameReader(chunked(Buffer.alloc(5), 5));
    await expect(r.readExact(10)).rejects.toMatchObject({ status: 104 });
  });
});

describe('metadata', () => {
  it('packs sorted by name with 0x01/0x02 separators and unpacks back', () => {
    const packed = packMetadata({ width: '1024', author: '张三', height: '768' });
    expect(packed.toString('utf8')).toBe('author\x02张三\x01height\x02768\x01width\x021024');
    expect(unpackMetadata(packed)).toEqual({ author: '张三', height: '768', width: '1024' });
    expect(unpackMetadata(Buffer.alloc(0))).toEqual({});
  });
});

describe('tracker replies', () => {
  it('store-one is 40 bytes and fetch-all uses the classic layout', () => {
    const one = encodeStoreOne({ group: 'group1', ip: '192.168.0.101', port: 23000, storePathIndex: 2 });
    expect(one.length).toBe(40);
    expect(decodeStoreOne(one)).toEqual({
      group: 'group1',
      ip: '192.168.0.101',
      port: 23000,
      storePathIndex: 2,
    });
    const all = encodeFetch('group1', [
      { ip: '10.0.0.1', port: 23000 },
      { ip: '10.0.0.2', port: 23000 },
    ]);
    expect(all.length).toBe(39 + 15);
    expect(decodeFetch(all).map((t) => t.ip)).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  it('stat records have the sizes each client generation expects', () => {
    const g: GroupStat = {
      groupName: 'group1',
      totalMb: 100,
      freeMb: 50,
      reservedMb: 10,
      trunkFreeMb: 0,
      storageCount: 2,
      storagePort: 23000,
      storageHttpPort: 8888,
      readableCount: 2,
      writableCount: 2,
      activeCount: 2,
      currentWriteServer: 0,
      storePathCount: 1,
      subdirCountPerPath: 256,
      currentTrunkFileId: 0,
    };
    expect(encodeGroupStat(g, 'current').length).toBe(113);
    expect(encodeGroupStat(g, 'classic').length).toBe(105);
    expect(decodeGroupStats(encodeGroupStat(g, 'current'), 'current')[0]).toMatchObject({
      freeMb: 50,
      reservedMb: 10,
    });
    expect(decodeGroupStats(encodeGroupStat(g, 'classic'), 'classic')[0]).toMatchObject({
      freeMb: 50,
      activeCount: 2,
    });
    const s = storageStat({ counters: { successUploadCount: 42, lastHeartBeatTime: 1_700_000_000 } });
    const cur = encodeStorageStat(s, 'current');
    expect(cur.length).toBe(487);
    expect(cur.readBigInt64BE(138 + 340)).toBe(1_700_000_000n); // last_heart_beat_time at stat_buff+340
    expect(encodeStorageStat(s, 'classic').length).toBe(612);
    expect(decodeStorageStats(cur, 'current')[0]?.counters.successUploadCount).toBe(42);
    expect(decodeStorageStats(encodeStorageStat(s, 'classic'), 'classic')[0]?.ip).toBe('127.0.0.1');
  });
});

describe('121 TRACKER_SYNC_STATUS (fastdfs-ts)', () => {
  const id16 = (s: string) => Buffer.concat([Buffer.from(s), Buffer.alloc(16 - s.length)]);
  const ts = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(n));
    return b;
  };

  it('is 121, next to our 120 and clashing with no other command', () => {
    expect(Cmd.TRACKER_SYNC_STATUS).toBe(121);
    expect(Object.values(Cmd).filter((c) => c === 121)).toHaveLength(1);
  });

  it.each([
    ['no rows (a group of one)', [], Buffer.alloc(0)],
    [
      'one pair, never synced',
      [{ dest: '127.0.0.2', source: '127.0.0.3', syncedUntil: 0 }],
      Buffer.concat([id16('127.0.0.2'), id16('127.0.0.3'), ts(0)]),
    ],
    [
      'both directions, storage ids',
      [
        { dest: '100001', source: '100002', syncedUntil: 1_700_000_123 },
        { dest: '100002', source: '100001', syncedUntil: 1_700_000_100 },
      ],
      Buffer.concat([
        id16('100001'),
        id16('100002'),
        ts(1_700_000_123),
        id16('100002'),
        id16('100001'),
        ts(1_700_000_100),
      ]),
    ],
    [
      'an id that fills all 16 bytes has no terminator',
      [{ dest: '123456789012345x', source: 'a', syncedUntil: 1 }],
      Buffer.concat([Buffer.from('123456789012345x'), id16('a'), ts(1)]),
    ],
  ])('encodes and decodes %s as 40-byte rows', (_name, rows, wire) => {
    expect(encodeSyncStatus(rows)).toEqual(wire);
    expect(decodeSyncStatus(wire)).toEqual(rows);
  });

  it.each([
    ['a length that is not a multiple of 40', Buffer.alloc(41), /not a multiple of 40/],
    ['a negative timestamp', Buffer.concat([id16('a'), id16('b'), ts(-1)]), /invalid synced-until/],
    ['an empty dest id', Buffer.concat([id16(''), id16('b'), ts(1)]), /bad pair/],
    ['a storage paired with itself', Buffer.concat([id16('a'), id16('a'), ts(1)]), /bad pair/],
  ])('refuses a reply with %s (EINVAL)', (_name, wire, message) => {
    expect(() => decodeSyncStatus(wire)).toThrow(message);
    expect(() => decodeSyncStatus(wire)).toThrow(expect.objectContaining({ status: 22 }));
  });

  it.each([
    ['group1', id16('group1'), 'group1'],
    ['a 16-char group', Buffer.from('abcdefghijklmnop'), 'abcdefghijklmnop'],
  ])('carries %s as str[16]', (_name, wire, group) => {
    expect(encodeSyncStatusQuery(group)).toEqual(wire);
    expect(decodeSyncStatusQuery(wire)).toBe(group);
  });

  it.each([
    ['an empty body', Buffer.alloc(0)],
    ['15 bytes', Buffer.alloc(15, 0x61)],
    ['17 bytes', Buffer.alloc(17, 0x61)],
    ['an empty group name', Buffer.alloc(16)],
  ])('refuses a request of %s (EINVAL)', (_name, body) => {
    expect(() => decodeSyncStatusQuery(body)).toThrow(expect.objectContaining({ status: 22 }));
  });
});

describe('replies from FastDFS V6.11–V6.14 trackers (46-byte IP fields)', () => {
  const ip6Entry = (ip: string, port?: number) => {
    const b = Buffer.alloc(45 + (port === undefined ? 0 : 8));
    b.write(ip);
    if (port !== undefined) b.writeBigInt64BE(BigInt(port), 45);
    return b;
  };
  const group = Buffer.alloc(16);
  group.write('group1');

  it('reads a 70-byte store-one and a 69-byte fetch-one', () => {
    const store = Buffer.concat([group, ip6Entry('10.0.0.7', 23000), Buffer.from([2])]);
    expect(store.length).toBe(70);
    expect(decodeStoreOne(store)).toEqual({
      group: 'group1',
      ip: '10.0.0.7',
      port: 23000,
      storePathIndex: 2,
    });
    const fetchOne = Buffer.concat([group, ip6Entry('10.0.0.7', 23000)]);
    expect(fetchOne.length).toBe(69);
    expect(decodeFetch(fetchOne)).toEqual([{ group: 'group1', ip: '10.0.0.7', port: 23000 }]);
  });

  it('reads fetch-all in the classic and the V6.16 layout', () => {
    const classic = Buffer.concat([group, ip6Entry('10.0.0.7', 23000), ip6Entry('10.0.0.8')]);
    expect(decodeFetch(classic).map((t) => `${t.ip}:${t.port}`)).toEqual([
      '10.0.0.7:23000',
      '10.0.0.8:23000',
    ]);
    const v616 = Buffer.concat([group, ip6Entry('10.0.0.7', 23000), ip6Entry('10.0.0.8', 23001)]);
    expect(decodeFetch(v616).map((t) => `${t.ip}:${t.port}`)).toEqual(['10.0.0.7:23000', '10.0.0.8:23001']);
    const all = Buffer.concat([group, ip6Entry('10.0.0.7', 23000), Buffer.from([0])]);
    expect(decodeStoreAll(all)).toEqual([
      { group: 'group1', ip: '10.0.0.7', port: 23000, storePathIndex: 0 },
    ]);
  });

  it('still reads a 69-byte classic IPv4 fetch-all of three storages as IPv4', () => {
    const body = encodeFetch('group1', [
      { ip: '10.0.0.1', port: 23000 },
      { ip: '10.0.0.2', port: 23000 },
      { ip: '10.0.0.3', port: 23000 },
    ]);
    expect(body.length).toBe(69);
    expect(decodeFetch(body).map((t) => t.ip)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  });

  it('refuses a reply that fits no layout', () => {
    expect(() => decodeStoreOne(Buffer.alloc(41))).toThrow(/expected 40 or 70/);
    expect(() => decodeFetch(Buffer.alloc(39))).toThrow(FdfsError);
  });
});

describe('storage stat record with a 46-byte IP (V6.13+ tracker with IPv6 storages)', () => {
  it('decodes the 517-byte form of the current record', () => {
    const rec = encodeStorageStat(
      storageStat({ ip: '10.0.0.9', storagePort: 23007, counters: { successUploadCount: 5 } }),
      'current',
    );
    // The same record with the IP field widened from 16 to 46 bytes (it starts at offset 18).
    const wide = Buffer.concat([rec.subarray(0, 34), Buffer.alloc(30), rec.subarray(34)]);
    expect(wide.length).toBe(517);
    const [s] = decodeStorageStats(Buffer.concat([wide, wide]), 'current').slice(1);
    expect(s).toMatchObject({ ip: '10.0.0.9', storagePort: 23007, status: 7 });
    expect(s?.counters.successUploadCount).toBe(5);
  });
});
