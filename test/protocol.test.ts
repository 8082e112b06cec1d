import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  decodeFetch,
  decodeGroupStats,
  decodeHeader,
  decodeStorageStats,
  decodeStoreOne,
  emptyCounters,
  encodeFetch,
  encodeGroupStat,
  encodeHeader,
  encodeStorageStat,
  encodeStoreOne,
  FdfsError,
  FrameReader,
  type GroupStat,
  packMetadata,
  type StorageStat,
  unpackMetadata,
} from '../src/protocol/index.js';

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
    const counters = emptyCounters();
    counters.successUploadCount = 42;
    counters.lastHeartBeatTime = 1_700_000_000;
    const s: StorageStat = {
      status: 7,
      rwMode: 6,
      id: '127.0.0.1',
      ip: '127.0.0.1',
      domainName: '',
      srcId: '',
      version: '6.16',
      joinTime: 1,
      upTime: 2,
      totalMb: 100,
      freeMb: 50,
      reservedMb: 0,
      uploadPriority: 10,
      storePathCount: 1,
      subdirCountPerPath: 256,
      currentWritePath: 0,
      storagePort: 23000,
      storageHttpPort: 0,
      counters,
      ifTrunkServer: false,
    };
    const cur = encodeStorageStat(s, 'current');
    expect(cur.length).toBe(487);
    expect(cur.readBigInt64BE(138 + 340)).toBe(1_700_000_000n); // last_heart_beat_time at stat_buff+340
    expect(encodeStorageStat(s, 'classic').length).toBe(612);
    expect(decodeStorageStats(cur, 'current')[0]?.counters.successUploadCount).toBe(42);
    expect(decodeStorageStats(encodeStorageStat(s, 'classic'), 'classic')[0]?.ip).toBe('127.0.0.1');
  });
});
